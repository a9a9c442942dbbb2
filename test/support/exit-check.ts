/**
 * Loaded into every test file's process (`--import` in package.json's test scripts). A file whose
 * tests have all finished but whose process stays up (a server, socket, child process or timer left
 * behind) would otherwise hang `node --test` until CI's own limit: CI once ran out of its 90 minutes
 * with nothing failed. Thirty seconds after the file's last test, this names what is still open and
 * ends the process with a failure, so the leak shows as a red file, not a silent hang. The clock starts
 * when the root's after hooks start; a file's own top-level after hooks (cleanups: stores destroyed,
 * temp dirs removed) run after this one and must fit in the grace. The timer is unref'd: a file that
 * ends cleanly exits before it fires.
 */
import { after } from "node:test";
import { ChildProcess } from "node:child_process";
import { Server, Socket } from "node:net";

const GRACE_MS = 30_000;

/**
 * The callbacks of the timers still pending, so a leaked timer names the code that set it: `getActiveResourcesInfo`
 * says only "Timeout". Timers set through the global functions are tracked from here on (the library code under
 * test captures them after this module ran); a timeout leaves the map when it fires or is cleared.
 */
const pendingTimers = new Map<NodeJS.Timeout, () => void>();
const realSetTimeout = globalThis.setTimeout;
const realSetInterval = globalThis.setInterval;
const realClearTimeout = globalThis.clearTimeout;
const realClearInterval = globalThis.clearInterval;
type TimerArgs = [callback: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]];
globalThis.setTimeout = ((...[cb, ms, ...rest]: TimerArgs) => {
  const t: NodeJS.Timeout = realSetTimeout((...a: unknown[]) => {
    pendingTimers.delete(t);
    cb(...a);
  }, ms, ...rest);
  pendingTimers.set(t, cb);
  return t;
}) as typeof setTimeout;
globalThis.setInterval = ((...[cb, ms, ...rest]: TimerArgs) => {
  const t: NodeJS.Timeout = realSetInterval(cb, ms, ...rest);
  pendingTimers.set(t, cb);
  return t;
}) as typeof setInterval;
globalThis.clearTimeout = ((t?: NodeJS.Timeout | string | number) => {
  if (t !== undefined && typeof t === "object") pendingTimers.delete(t);
  realClearTimeout(t);
}) as typeof clearTimeout;
globalThis.clearInterval = ((t?: NodeJS.Timeout | string | number) => {
  if (t !== undefined && typeof t === "object") pendingTimers.delete(t);
  realClearInterval(t);
}) as typeof clearInterval;

// what else the real functions carry (util.promisify's custom form) stays with them
for (const [wrapper, real] of [[globalThis.setTimeout, realSetTimeout], [globalThis.setInterval, realSetInterval]] as const) {
  for (const key of Reflect.ownKeys(real)) {
    if (key !== "length" && key !== "name" && key !== "prototype") Object.defineProperty(wrapper, key, Object.getOwnPropertyDescriptor(real, key)!);
  }
}

/** Each pending timer that keeps the process up: its callback's first line of source. */
function refTimers(): string[] {
  const out: string[] = [];
  for (const [t, cb] of pendingTimers) {
    // cleared some other way (by its numeric id, or close()): Node marks it destroyed
    if (!t.hasRef() || (t as NodeJS.Timeout & { _destroyed?: boolean })._destroyed) continue;
    out.push(`${cb.name || "(anonymous)"}: ${String(cb).replace(/\s+/g, " ").slice(0, 160)}`);
  }
  return out;
}

/** What an open handle is, in words a reader can match to the test that made it. */
function describeHandle(h: unknown): string | undefined {
  if (h instanceof ChildProcess) return `child process ${h.pid}: ${h.spawnargs.join(" ").slice(0, 200)}`;
  if (h instanceof Server) return `server listening on ${JSON.stringify(h.address())}`;
  if (h instanceof Socket) {
    // the test process's own stdio pipes are always open: not a leak
    if (h === process.stdout || h === process.stderr || h === process.stdin) return undefined;
    const fd = (h as Socket & { _handle?: { fd?: number } })._handle?.fd;
    if (fd !== undefined && fd >= 0 && fd <= 2) return undefined;
    return `socket ${h.localAddress ?? "?"}:${h.localPort ?? "?"} -> ${h.remoteAddress ?? "?"}:${h.remotePort ?? "?"}`;
  }
  return (h as { constructor?: { name?: string } })?.constructor?.name ?? typeof h;
}

after(() => {
  setTimeout(() => {
    const getHandles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles;
    const handles = (getHandles?.call(process) ?? []).map(describeHandle).filter((d): d is string => d !== undefined);
    process.stderr.write(
      `exit-check: this test file's process is still up ${GRACE_MS / 1000} s after its last test; open: ` +
        `${JSON.stringify(handles)}; resources: ${JSON.stringify(process.getActiveResourcesInfo())}; ` +
        `timers: ${JSON.stringify(refTimers())}\n`,
    );
    process.exit(1);
  }, GRACE_MS).unref();
});
