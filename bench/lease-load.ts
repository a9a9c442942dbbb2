/** The lease keep-alive runner of a load generator process (bench/load-worker.ts); lease-expiry is in lease-expiry-load.ts. */
import { unary } from "./etcd-client.js";
import { KeepAliveStream } from "./keepalive-stream.js";
import { Counters } from "./load-counters.js";
import type { LoadJob } from "./load-job.js";
import { closedLoop, openChannels, readyThenStart, reportProgress, send, type WorkerControl } from "./worker-context.js";

/** Run `f` over items with at most `n` in flight. */
async function pool<T>(items: T[], n: number, f: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await f(items[i]!, i);
      }
    }),
  );
}

/**
 * Lease keep-alive throughput: `clients` leases (granted before the warm-up, not measured), each with its
 * own LeaseKeepAlive stream on channel (lease % channels), each stream closed loop. A "request" is one
 * keep-alive; latency = request written to response received. A response with TTL 0 (the lease is gone)
 * is an error. The leases are revoked at the end, before the result is reported, so that they cannot
 * expire during the next trial.
 */
export async function runLeaseKeepAlive(j: LoadJob, ctl: WorkerControl): Promise<void> {
  const channels = await openChannels(j);
  const chOf = (c: number) => channels[c % channels.length]!;
  const ids: string[] = Array(j.clients).fill("");
  await pool(ids, 32, async (_, c) => {
    const g = await unary(chOf(c).lease(), "LeaseGrant", { TTL: j.leaseTtl, ID: 0 }, j.timeoutMs);
    ids[c] = String(g.ID);
  });
  const streams = ids.map((id, c) => new KeepAliveStream(chOf(c), id));
  const keepAlive = async (s: KeepAliveStream) => {
    const ttl = await s.once(j.timeoutMs);
    if (!(ttl > 0)) throw new Error("keep-alive answered TTL 0 (lease not found)");
  };

  // Warm-up: opens every stream (one keep-alive each), then --warmup more, not counted.
  let warm = 0;
  await pool(streams, streams.length, async (s) => {
    warm++;
    await keepAlive(s).catch(() => undefined);
  });
  await Promise.all(
    streams.slice(0, Math.max(1, Math.min(streams.length, j.warmup))).map(async (s) => {
      while (warm < j.clients + j.warmup && !ctl.stopped) {
        warm++;
        await keepAlive(s).catch(() => undefined);
      }
    }),
  );
  const { startAt, wall0, cpu0 } = await readyThenStart(ctl);
  const k = new Counters(startAt);
  const progress = reportProgress(k);
  // Client c drives stream c (there are `clients` of each).
  await closedLoop(j, ctl, k, async (c) => {
    await keepAlive(streams[c]!);
    return undefined;
  });
  clearInterval(progress);
  const result = k.result(warm, cpu0, wall0);
  for (const s of streams) s.close();
  // Clean up (bounded): a lease left behind would expire, and be revoked by the server, during the next trial.
  const until = Date.now() + 10_000;
  await pool(ids, 32, async (id, c) => {
    if (Date.now() < until) await unary(chOf(c).lease(), "LeaseRevoke", { ID: id }, Math.min(j.timeoutMs, 2000)).catch(() => undefined);
  });
  send({ type: "result", result });
  for (const ch of channels) ch.close();
}
