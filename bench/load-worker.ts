/**
 * A load generator process. The benchmark forks one per share of the connections (bench/load.ts), so that
 * generating load is spread over cores and is never done on the thread that samples and reports.
 *
 * Protocol (IPC): parent sends {job}; the worker opens its channels, runs the warm-up, answers {ready};
 * parent sends {go, startAt} to every worker at once; the worker runs the measured requests from startAt,
 * reports {progress} every 250 ms and finally {result}. {stop} ends the load early (what completed is kept).
 * The worker ignores SIGINT (the parent decides) and exits when the parent goes away.
 *
 * This file holds the IPC wiring, the dispatch on job.op and the KV runner (put, range, txn-mixed,
 * lease-churn); the other runners are in bench/http-load.ts, bench/watch-load.ts, bench/lease-load.ts and bench/lease-expiry-load.ts.
 */
import { EtcdChannel, prefixEnd, unary } from "./etcd-client.js";
import { runHttp } from "./http-load.js";
import { keyOf, valueOf } from "./keys.js";
import { runLeaseExpiry } from "./lease-expiry-load.js";
import { runLeaseKeepAlive } from "./lease-load.js";
import { Counters } from "./load-counters.js";
import type { LoadJob, ToWorker } from "./load-job.js";
import { runWatchLatency } from "./watch-load.js";
import { closedLoop, openChannels, readyThenStart, reportProgress, send, WorkerSignals, type WorkerControl } from "./worker-context.js";

const signals = new WorkerSignals();

process.on("SIGINT", () => {
  /* the parent stops us with {stop} and tears down; see bench/runner.ts */
});
process.on("disconnect", () => process.exit(0));
process.on("message", (m: ToWorker) => {
  if (m.type === "job") {
    main(m.job, signals).catch((e) => {
      send({ type: "error", message: String((e as Error)?.stack ?? e) });
      setTimeout(() => process.exit(1), 50);
    });
  } else if (m.type === "go") signals.start(m.startAt);
  else if (m.type === "stop") signals.stop();
});

/** One request of the KV runner on client `client`'s channel; resolves with the op it counts under, if any. */
type OpFn = (client: number) => Promise<string | undefined>;

async function main(j: LoadJob, ctl: WorkerControl): Promise<void> {
  if (j.op === "http-put" || j.op === "http-range") return runHttp(j, ctl);
  if (j.op === "watch-latency") return runWatchLatency(j, ctl);
  if (j.op === "lease-keepalive") return runLeaseKeepAlive(j, ctl);
  if (j.op === "lease-expiry") return runLeaseExpiry(j, ctl);
  const channels = await openChannels(j);
  const op = makeOp(j, channels);

  // Warm-up: the same requests, not counted anywhere but warmupRequests.
  let warm = 0;
  await Promise.all(
    Array.from({ length: Math.min(j.clients, Math.max(1, j.warmup)) }, async (_, c) => {
      while (warm < j.warmup && !ctl.stopped) {
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
  for (const ch of channels) ch.close();
}

function makeOp(j: LoadJob, channels: EtcdChannel[]): OpFn {
  const chOf = (c: number) => channels[c % channels.length]!;
  const value = valueOf(j.valSize);
  const prefix = Buffer.from(j.keyPrefix);
  const end = prefixEnd(prefix);
  let seq = 0;
  const nextKey = () => {
    const i = j.sequentialKeys ? (j.keyOffset + seq++) % j.keySpaceSize : Math.floor(Math.random() * j.keySpaceSize);
    return keyOf(j.keyPrefix, i, j.keySize);
  };
  const t = j.timeoutMs;
  switch (j.op) {
    case "put":
      return async (c) => {
        await unary(chOf(c).kv(), "Put", { key: nextKey(), value }, t);
        return undefined;
      };
    case "range": {
      return async (c) => {
        const req =
          j.rangeMode === "point"
            ? { key: keyOf(j.keyPrefix, Math.floor(Math.random() * j.keySpaceSize), j.keySize), serializable: j.serializable }
            : { key: prefix, range_end: end, limit: j.limit, serializable: j.serializable, keys_only: j.keysOnly, count_only: j.countOnly };
        await unary(chOf(c).kv(), "Range", req, t);
        return undefined;
      };
    }
    case "txn-mixed": {
      const readShare = j.rwRatio / (1 + j.rwRatio);
      return async (c) => {
        const isRead = Math.random() < readShare;
        const op = isRead
          ? { request_range: { key: prefix, range_end: end, limit: j.limit, serializable: j.serializable } }
          : { request_put: { key: nextKey(), value } };
        try {
          await unary(chOf(c).kv(), "Txn", { compare: [], success: [op], failure: [] }, t);
        } catch (e) {
          // Tagged so that the failure counts under its op too (see closedLoop).
          throw Object.assign(e as object, { op: isRead ? "read" : "write" });
        }
        return isRead ? "read" : "write";
      };
    }
    case "lease-churn":
      return async (c) => {
        const ch = chOf(c);
        const g = await unary(ch.lease(), "LeaseGrant", { TTL: j.leaseTtl, ID: 0 }, t);
        await unary(ch.kv(), "Put", { key: nextKey(), value, lease: g.ID }, t);
        await unary(ch.lease(), "LeaseRevoke", { ID: g.ID }, t);
        return undefined;
      };
    default:
      throw new Error(`unknown load op ${j.op}`);
  }
}
