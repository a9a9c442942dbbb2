/**
 * Parent side of load generation: forks load generator processes (bench/load-worker.ts), gives each its
 * share of connections, clients, requests and rate, starts them together and merges what they measured.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Histogram } from "hdr-histogram-js";
import type { FromWorker, LoadJob, WorkerResult } from "./load-job.js";
import { tlsFilesFor } from "./endpoint-tls.js";
import { tokenFor } from "./endpoint-auth.js";
import { decodeHistogram, newHistogram } from "./stats.js";

export interface LoadSpec extends Omit<LoadJob, "channelIds" | "clients" | "total" | "rate" | "keyOffset" | "warmup"> {
  conns: number;
  clients: number;
  total: number | null;
  rate: number;
  warmup: number;
  /** Load generator processes to use (capped by conns and clients). */
  workers: number;
  /** Hard bound on the measured phase; the load is stopped after it. */
  maxMs: number;
}

export interface LoadOutcome {
  sent: number;
  ok: number;
  errors: number;
  timeouts: number;
  warmupRequests: number;
  errorKinds: Record<string, number>;
  perSecond: number[];
  histogram: Histogram;
  ops: Record<string, { count: number; histogram: Histogram }>;
  startAt: number;
  endAt: number;
  measuredMs: number;
  processes: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  wallMs: number;
  stoppedEarly: boolean;
}

export interface LoadHooks {
  signal?: AbortSignal;
  onProgress?: (done: number, ok: number, errors: number) => void;
  /** Called when the measured phase starts (after warm-up), e.g. to start resource sampling. */
  onStart?: (startAt: number) => void | Promise<void>;
}

/** The worker entry beside this module: .ts when running from source (tsx), .js from dist/. */
export function workerPath(): string {
  const here = fileURLToPath(import.meta.url);
  return here.replace(/load\.(ts|js)$/, (_m, ext: string) => `load-worker.${ext}`);
}

/** Split n into k near-equal integer parts (larger parts first). */
export function split(n: number, k: number): number[] {
  const base = Math.floor(n / k);
  return Array.from({ length: k }, (_, i) => base + (i < n % k ? 1 : 0));
}

const live = new Set<ChildProcess>();
/** Kill every load generator still running (used on SIGINT and at exit). */
export function killAllLoadWorkers(): void {
  for (const c of live) {
    try {
      c.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
  live.clear();
}

export async function runLoad(spec: LoadSpec, hooks: LoadHooks = {}): Promise<LoadOutcome> {
  const W = Math.max(1, Math.min(spec.workers, spec.conns, spec.clients));
  const clients = split(spec.clients, W);
  const totals = spec.total == null ? null : split(spec.total, W);
  const rates = spec.rate > 0 ? split(spec.rate, W).map((r) => Math.max(r, 1)) : Array(W).fill(0);
  const warmups = split(spec.warmup, W);
  const jobs: LoadJob[] = Array.from({ length: W }, (_, w) => ({
    ...spec,
    channelIds: Array.from({ length: spec.conns }, (_, i) => i).filter((i) => i % W === w),
    clients: clients[w]!,
    total: totals ? totals[w]! : null,
    rate: rates[w]!,
    warmup: warmups[w]!,
    keyOffset: w * Math.floor(spec.keySpaceSize / W),
    ...(tlsFilesFor(spec.endpoints[0]!) ? { tls: tlsFilesFor(spec.endpoints[0]!) } : {}),
    ...(tokenFor(spec.endpoints[0]!) ? { token: tokenFor(spec.endpoints[0]!) } : {}),
  }));

  const children: ChildProcess[] = [];
  const results: (WorkerResult | undefined)[] = Array(W).fill(undefined);
  const progress = jobs.map(() => ({ done: 0, ok: 0, errors: 0 }));
  let stoppedEarly = false;
  let failure: Error | undefined;

  let onReady!: () => void;
  let readyCount = 0;
  const allReady = new Promise<void>((r) => (onReady = r));
  let onDone!: () => void;
  let doneCount = 0;
  const allDone = new Promise<void>((r) => (onDone = r));
  let onFail!: (e: Error) => void;
  const failed = new Promise<never>((_, rej) => (onFail = rej));
  failed.catch(() => undefined);

  const stopAll = () => {
    stoppedEarly = true;
    for (const c of children) if (c.connected) c.send({ type: "stop" });
  };
  const onAbort = () => stopAll();
  hooks.signal?.addEventListener("abort", onAbort);

  try {
    for (let w = 0; w < W; w++) {
      const child = fork(workerPath(), [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: process.execArgv });
      live.add(child);
      children.push(child);
      child.on("message", (m: FromWorker) => {
        if (m.type === "ready") {
          if (++readyCount === W) onReady();
        } else if (m.type === "progress") {
          progress[w] = { done: m.done, ok: m.ok, errors: m.errors };
          const sum = progress.reduce((a, p) => ({ done: a.done + p.done, ok: a.ok + p.ok, errors: a.errors + p.errors }), { done: 0, ok: 0, errors: 0 });
          hooks.onProgress?.(sum.done, sum.ok, sum.errors);
        } else if (m.type === "result") {
          results[w] = m.result;
          if (++doneCount === W) onDone();
        } else if (m.type === "error") {
          failure = new Error(`load generator ${w}: ${m.message}`);
          onFail(failure);
        }
      });
      child.on("exit", (code, sig) => {
        live.delete(child);
        if (!results[w] && !failure) {
          failure = new Error(`load generator ${w} exited (${sig ?? code}) before reporting`);
          onFail(failure);
        }
      });
      child.send({ type: "job", job: jobs[w] });
    }
    const setupBound = new Promise<never>((_, rej) => {
      const t = setTimeout(() => rej(new Error("load generators not ready within 120 s (connect + warm-up)")), 120_000);
      void allReady.then(() => clearTimeout(t));
    });
    setupBound.catch(() => undefined);
    await Promise.race([allReady, failed, setupBound]);
    const startAt = Date.now() + 30;
    for (const c of children) c.send({ type: "go", startAt });
    await hooks.onStart?.(startAt);
    const bound = setTimeout(stopAll, spec.maxMs);
    try {
      await Promise.race([allDone, failed]);
    } finally {
      clearTimeout(bound);
    }

    const rs = results as WorkerResult[];
    const histogram = newHistogram();
    const ops: LoadOutcome["ops"] = {};
    const perSecond: number[] = [];
    const errorKinds: Record<string, number> = {};
    for (const r of rs) {
      histogram.add(decodeHistogram(r.histogram));
      r.perSecond.forEach((v, i) => (perSecond[i] = (perSecond[i] ?? 0) + v));
      for (const [k, v] of Object.entries(r.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + v;
      for (const [k, v] of Object.entries(r.ops ?? {})) {
        const o = (ops[k] ??= { count: 0, histogram: newHistogram() });
        o.count += v.count;
        o.histogram.add(decodeHistogram(v.histogram));
      }
    }
    for (let i = 0; i < perSecond.length; i++) perSecond[i] ??= 0;
    const endAt = Math.max(...rs.map((r) => r.endAt), startAt);
    const sum = (f: (r: WorkerResult) => number) => rs.reduce((a, r) => a + f(r), 0);
    return {
      sent: sum((r) => r.sent),
      ok: sum((r) => r.ok),
      errors: sum((r) => r.errors),
      timeouts: sum((r) => r.timeouts),
      warmupRequests: sum((r) => r.warmupRequests),
      errorKinds,
      perSecond,
      histogram,
      ops,
      startAt,
      endAt,
      measuredMs: Math.max(1, endAt - startAt),
      processes: W,
      cpuUserMs: sum((r) => r.cpuUserMs),
      cpuSystemMs: sum((r) => r.cpuSystemMs),
      wallMs: Math.max(...rs.map((r) => r.wallMs)),
      stoppedEarly,
    };
  } finally {
    hooks.signal?.removeEventListener("abort", onAbort);
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        if (c.connected) c.disconnect();
        const t = setTimeout(() => c.kill("SIGKILL"), 2000);
        t.unref();
        c.once("exit", () => clearTimeout(t));
      }
    }
  }
}
