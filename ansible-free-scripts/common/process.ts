/**
 * Processes we started, identified by PID plus the kernel's start time (so a recycled PID is never
 * mistaken for ours), signalled as their own process group.
 */
import { readFileSync } from "node:fs";
import { sleep } from "./health.js";

export interface ProcId {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat at spawn time (clock ticks since boot); absent where /proc is not. */
  readonly startTime?: string;
}

interface ProcStat {
  state: string;
  startTime: string;
}

function readStat(pid: number): ProcStat | undefined | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (e) {
    // No /proc at all (not Linux): null means "cannot tell".
    return (e as NodeJS.ErrnoException).code === "ENOENT" && !procAvailable() ? null : undefined;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0]!, startTime: fields[19]! };
}

let hasProc: boolean | undefined;
function procAvailable(): boolean {
  if (hasProc === undefined) {
    try {
      readFileSync("/proc/self/stat");
      hasProc = true;
    } catch {
      hasProc = false;
    }
  }
  return hasProc;
}

export function procStartTime(pid: number): string | undefined {
  const s = readStat(pid);
  return s ? s.startTime : undefined;
}

/** The process is alive (not a zombie) and is the one we started. */
export function isOurs(id: ProcId): boolean {
  const s = readStat(id.pid);
  if (s === null) {
    try {
      process.kill(id.pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  if (!s || s.state === "Z" || s.state === "X" || s.state === "x") return false;
  return id.startTime === undefined || s.startTime === id.startTime;
}

/** Stopped by SIGSTOP (state T). */
export function isStopped(id: ProcId): boolean {
  const s = readStat(id.pid);
  return !!s && s.state === "T" && isOurs(id);
}

/** Signals the process group the member leads (it was started detached), else the process alone. */
export function signal(id: ProcId, sig: NodeJS.Signals): boolean {
  if (!isOurs(id)) return false;
  try {
    process.kill(-id.pid, sig);
    return true;
  } catch {
    try {
      process.kill(id.pid, sig);
      return true;
    } catch {
      return false;
    }
  }
}

/** Waits until the process is gone; false on timeout. */
export async function waitGone(id: ProcId, timeoutMs: number, exited?: Promise<unknown>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  exited?.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done && isOurs(id)) {
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
  return true;
}
