/** What one load generator process measured: counts, latencies, per-second throughput, error kinds. */
import type { Histogram } from "hdr-histogram-js";
import { errorKind, isTimeout } from "./etcd-client.js";
import type { WorkerResult } from "./load-job.js";
import { encodeHistogram, newHistogram, recordMs } from "./stats.js";

export class Counters {
  sent = 0;
  ok = 0;
  errors = 0;
  timeouts = 0;
  errorKinds: Record<string, number> = {};
  perSecond: number[] = [];
  hist: Histogram = newHistogram();
  ops: Record<string, { count: number; hist: Histogram }> = {};
  endAt = 0;
  constructor(readonly startAt: number) {}

  success(ms: number, op?: string): void {
    const now = Date.now();
    this.ok++;
    recordMs(this.hist, ms);
    const sec = Math.max(0, Math.floor((now - this.startAt) / 1000));
    while (this.perSecond.length <= sec) this.perSecond.push(0);
    this.perSecond[sec]!++;
    this.endAt = now;
    if (op) {
      const o = (this.ops[op] ??= { count: 0, hist: newHistogram() });
      o.count++;
      recordMs(o.hist, ms);
    }
  }

  failure(err: unknown, op?: string): void {
    this.endAt = Date.now();
    if (isTimeout(err)) this.timeouts++;
    else this.errors++;
    const k = errorKind(err);
    // At most 10 kinds, so that a flood of distinct messages cannot bloat the result.
    if (k in this.errorKinds || Object.keys(this.errorKinds).length < 10) this.errorKinds[k] = (this.errorKinds[k] ?? 0) + 1;
    if (op) this.ops[op] ??= { count: 0, hist: newHistogram() };
  }

  result(warmupRequests: number, cpu0: NodeJS.CpuUsage, wall0: number): WorkerResult {
    const cpu = process.cpuUsage(cpu0);
    const ops: WorkerResult["ops"] = {};
    for (const [k, v] of Object.entries(this.ops)) ops[k] = { count: v.count, histogram: encodeHistogram(v.hist) };
    return {
      sent: this.sent,
      ok: this.ok,
      errors: this.errors,
      timeouts: this.timeouts,
      warmupRequests,
      errorKinds: this.errorKinds,
      perSecond: this.perSecond,
      histogram: encodeHistogram(this.hist),
      ops: Object.keys(ops).length ? ops : undefined,
      endAt: this.endAt || Date.now(),
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      wallMs: Date.now() - wall0,
    };
  }
}

/** A gRPC-style deadline error (counted as a timeout by Counters.failure). */
export function deadlineError(details: string): Error {
  return Object.assign(new Error(details), { code: 4 /* DEADLINE_EXCEEDED */, details });
}
