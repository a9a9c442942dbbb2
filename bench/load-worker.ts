/**
 * A load generator process. The benchmark forks one per share of the connections (bench/load.ts), so that
 * generating load is spread over cores and is never done on the thread that samples and reports.
 *
 * Protocol (IPC): parent sends {job}; the worker opens its channels, runs the warm-up, answers {ready};
 * parent sends {go, startAt} to every worker at once; the worker runs the measured requests from startAt,
 * reports {progress} every 250 ms and finally {result}. {stop} ends the load early (what completed is kept).
 * The worker ignores SIGINT (the parent decides) and exits when the parent goes away.
 *
 * This file holds the IPC wiring, the dispatch on job.op and the closed-loop runner of unary requests:
 * put, range and txn-mixed on the load generator's own gRPC client (bench/kv-ops.ts), lease-churn on
 * grpc-js; the other runners are in bench/http-load.ts, bench/watch-load.ts, bench/lease-load.ts and
 * bench/lease-expiry-load.ts.
 */
import { unary } from "./etcd-client.js";
import { runHttp } from "./http-load.js";
import { keyOf, valueOf } from "./keys.js";
import { runLeaseExpiry } from "./lease-expiry-load.js";
import { runLeaseKeepAlive } from "./lease-load.js";
import { kvRunner, type KvRunner } from "./kv-ops.js";
import { Counters } from "./load-counters.js";
import type { LoadJob, ToWorker } from "./load-job.js";
import { registerEndpointTls } from "./endpoint-tls.js";
import { registerEndpointToken } from "./endpoint-auth.js";
import { runWatchLatency } from "./watch-load.js";
import { closedLoop, openChannels, readyThenStart, reportProgress, send, WorkerSignals, type WorkerControl } from "./worker-context.js";

const signals = new WorkerSignals();

process.on("SIGINT", () => {
  /* the parent stops us with {stop} and tears down; see bench/runner.ts */
});
process.on("disconnect", () => process.exit(0));
process.on("message", (m: ToWorker) => {
  if (m.type === "job") {
    if (m.job.tls) registerEndpointTls(m.job.endpoints, m.job.tls);
    if (m.job.token) registerEndpointToken(m.job.endpoints, m.job.token);
    main(m.job, signals).catch((e) => {
      send({ type: "error", message: String((e as Error)?.stack ?? e) });
      setTimeout(() => process.exit(1), 50);
    });
  } else if (m.type === "go") signals.start(m.startAt);
  else if (m.type === "stop") signals.stop();
});


async function main(j: LoadJob, ctl: WorkerControl): Promise<void> {
  if (j.op === "http-put" || j.op === "http-range") return runHttp(j, ctl);
  if (j.op === "watch-latency") return runWatchLatency(j, ctl);
  if (j.op === "lease-keepalive") return runLeaseKeepAlive(j, ctl);
  if (j.op === "lease-expiry") return runLeaseExpiry(j, ctl);
  const runner = j.op === "lease-churn" ? await leaseChurnRunner(j) : await kvRunner(j);
  const op = runner.op;

  // Warm-up: the same requests, not counted anywhere but warmupRequests.
  let warm = 0;
  const warmEnd = j.warmupMaxMs ? Date.now() + j.warmupMaxMs : Infinity;
  await Promise.all(
    Array.from({ length: Math.min(j.clients, Math.max(1, j.warmup)) }, async (_, c) => {
      while (warm < j.warmup && !ctl.stopped && Date.now() < warmEnd) {
        warm++;
        await op(c).catch(() => undefined);
      }
    }),
  );
  const { startAt, wall0, cpu0 } = await readyThenStart(ctl);
  const k = new Counters(startAt);
  const progress = reportProgress(k);
  await closedLoop(j, ctl, k, op);
  clearInterval(progress);
  send({ type: "result", result: k.result(warm, cpu0, wall0) });
  runner.close();
}

/** lease-churn: grant, put attached, revoke, on grpc-js (it needs the granted ID from the response). */
async function leaseChurnRunner(j: LoadJob): Promise<KvRunner> {
  const channels = await openChannels(j);
  const value = valueOf(j.valSize);
  let seq = 0;
  const nextKey = () => {
    const i = j.sequentialKeys ? (j.keyOffset + seq++) % j.keySpaceSize : Math.floor(Math.random() * j.keySpaceSize);
    return keyOf(j.keyPrefix, i, j.keySize);
  };
  const t = j.timeoutMs;
  let rr = 0;
  return {
    // Each request to the next channel: the channels cover every endpoint (see openChannels).
    op: async () => {
      const ch = channels[rr++ % channels.length]!;
      const g = await unary(ch.lease(), "LeaseGrant", { TTL: j.leaseTtl, ID: 0 }, t);
      await unary(ch.kv(), "Put", { key: nextKey(), value, lease: g.ID }, t);
      await unary(ch.lease(), "LeaseRevoke", { ID: g.ID }, t);
      return undefined;
    },
    close: () => channels.forEach((c) => c.close()),
  };
}
