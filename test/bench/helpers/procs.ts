/** Finding processes by a marker in their environment, to prove a run left nothing behind. */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** PIDs of live processes whose environment contains KEY=VALUE. */
export function pidsWithEnv(key: string, value: string): number[] {
  const needle = `${key}=${value}`;
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${d}/environ`, "latin1").split("\0");
      if (!env.includes(needle)) continue;
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "Z") out.push(Number(d));
    } catch {
      /* gone or not ours */
    }
  }
  return out;
}

export const RUN_CLI = fileURLToPath(new URL(`./run-cli.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `etcdkit bench|compare ARGS` from the sources (or dist) as a child process, bounded in time. */
export function runCli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; onStderr?: (chunk: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, RUN_CLI, ...args], {
      env: { ...process.env, ...(opts.env ?? {}) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      opts.onStderr?.(String(d), child);
    });
    const t = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("exit", (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
