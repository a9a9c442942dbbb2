/**
 * A debug timeline of the write path, for measuring where one put's time goes (bench/figures/
 * 2026-12-05-put-latency.md). Armed by `ETCDTS_LATENCY_TRACE=<file>` (never an `ETCD_*` variable:
 * those are etcd's flags); when unset every call site is one boolean test. Each event is a line
 * `<epoch µs> <stage> <a> <b>` appended to the file about once a second and at exit; `a`/`b` are
 * a raft index, a request id or a peer id, depending on the stage.
 */
import { appendFileSync } from "node:fs";

// `%p` in the name becomes the process id, so the members of a local cluster can share one setting.
const file = (process.env.ETCDTS_LATENCY_TRACE ?? "").replace("%p", String(process.pid));

/** Whether the timeline is being recorded (call sites test this before building arguments). */
export const TRACING = file !== "";

let lines: string[] = [];

function flush(): void {
  if (lines.length === 0) return;
  const out = lines.join("\n") + "\n";
  lines = [];
  appendFileSync(file, out);
}

if (TRACING) {
  setInterval(flush, 1000).unref();
  process.on("exit", flush);
}

/** Records one event (only call it under `if (TRACING)`). */
export function trace(stage: string, a: number | bigint = 0, b: number | bigint | string = 0): void {
  const us = Math.round((performance.timeOrigin + performance.now()) * 1000);
  lines.push(`${us} ${stage} ${a} ${b}`);
}
