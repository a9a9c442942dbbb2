/**
 * What the runners of a load generator process (bench/load-worker.ts) share: the IPC channel to the parent,
 * the parent's go/stop signals, and the steps every runner takes in the same way (ready → go → measure).
 */
import { EtcdChannel } from "./etcd-client.js";
import type { Counters } from "./load-counters.js";
import type { FromWorker, LoadJob } from "./load-job.js";

export const send = (m: FromWorker): void => void process.send?.(m);
export const sleep = (ms: number): Promise<void> => new Promise<void>((r) => setTimeout(r, ms));

/** The parent's {go} and {stop}, as a runner sees them. */
export interface WorkerControl {
  /** True once the parent sent {stop}: runners end their loops early, what completed is kept. */
  readonly stopped: boolean;
  /** The common start time from {go}; {stop} resolves it with now, so that no runner waits for a {go} that never comes. */
  readonly go: Promise<number>;
  /** The run that {stop} must also end, as it does not watch `stopped` (autocannon); replaces the previous one. */
  stopAlso(run: { stop(): void }): void;
}

/** The worker's side of WorkerControl, fed from IPC by bench/load-worker.ts. */
export class WorkerSignals implements WorkerControl {
  readonly go: Promise<number>;
  private isStopped = false;
  private resolveGo!: (startAt: number) => void;
  private run: { stop(): void } | undefined;
  constructor() {
    this.go = new Promise<number>((r) => (this.resolveGo = r));
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  start(startAt: number): void {
    this.resolveGo(startAt);
  }

  stop(): void {
    this.isStopped = true;
    this.resolveGo(Date.now());
    this.run?.stop();
  }

  stopAlso(run: { stop(): void }): void {
    this.run = run;
  }
}

/**
 * This process's grpc-js channels (for the stream workloads and lease-churn): for each of its connections
 * (job.channelIds) one channel to every endpoint, as clientv3 has one connection per endpoint per client.
 * Ordered round by round: entry i < connections is connection i's first endpoint (connection id mod
 * endpoints, so connections start on different members), the next round is each connection's next
 * endpoint, and so on; `channels[n % channels.length]` thus spreads streams over members and connections.
 */
export async function openChannels(j: LoadJob): Promise<EtcdChannel[]> {
  const n = j.endpoints.length;
  const channels: EtcdChannel[] = [];
  for (let round = 0; round < n; round++) for (const id of j.channelIds) channels.push(new EtcdChannel(j.endpoints[(id + round) % n]!));
  await Promise.all(channels.map((c) => c.ready(Math.max(3000, j.timeoutMs))));
  return channels;
}

export interface MeasuredStart {
  startAt: number;
  /** Wall clock and CPU time at startAt, for Counters.result. */
  wall0: number;
  cpu0: NodeJS.CpuUsage;
}

/** Answers {ready} (warm-up done), waits for {go}, then for its start time, which every worker shares. */
export async function readyThenStart(ctl: WorkerControl): Promise<MeasuredStart> {
  send({ type: "ready" });
  const startAt = await ctl.go;
  while (Date.now() < startAt) await sleep(Math.min(5, startAt - Date.now()));
  return { startAt, wall0: Date.now(), cpu0: process.cpuUsage() };
}

/** Where the measured phase ends: after `total` requests (this process's share) or at the deadline. */
export function measuredEnd(j: LoadJob, startAt: number): { deadline: number; total: number } {
  return { deadline: j.durationMs != null ? startAt + j.durationMs : Infinity, total: j.total ?? Number.MAX_SAFE_INTEGER };
}

/** {progress} every 250 ms (timeouts count as errors); clearInterval the handle when done. */
export function reportProgress(k: Counters): NodeJS.Timeout {
  return setInterval(() => send({ type: "progress", done: k.ok + k.errors + k.timeouts, ok: k.ok, errors: k.errors + k.timeouts }), 250);
}

/** Slot-based limiter shared by the clients of this process: at most `rate` starts per second; null when unlimited. */
export function limiter(rate: number): (() => Promise<void>) | null {
  if (!rate || rate <= 0) return null;
  const interval = 1000 / rate;
  let next = 0;
  return async () => {
    const now = performance.now();
    if (next < now) next = now;
    const wait = next - now;
    next += interval;
    if (wait > 0.5) await sleep(wait);
  };
}

/**
 * The measured closed loop: `clients` loops, each starting its next request (at most j.rate per second
 * over the process) once the previous one ended, until {stop}, `total` or the deadline. A request may resolve
 * with the op it counts under (a string); a failed one may carry it as `op`.
 */
export async function closedLoop(j: LoadJob, ctl: WorkerControl, k: Counters, request: (client: number) => Promise<unknown>): Promise<void> {
  const limit = limiter(j.rate);
  const { deadline, total } = measuredEnd(j, k.startAt);
  await Promise.all(
    Array.from({ length: j.clients }, async (_, c) => {
      for (;;) {
        if (ctl.stopped || k.sent >= total || Date.now() >= deadline) return;
        k.sent++;
        if (limit) await limit();
        const t0 = performance.now();
        try {
          const tag = await request(c);
          k.success(performance.now() - t0, typeof tag === "string" ? tag : undefined);
        } catch (e) {
          k.failure(e, (e as { op?: string }).op);
        }
      }
    }),
  );
}
