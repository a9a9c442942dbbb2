/** The lease runners of a load generator process (bench/load-worker.ts): keep-alive throughput and expiry notice time. */
import { EtcdChannel, unary } from "./etcd-client.js";
import { KeepAliveStream } from "./keepalive-stream.js";
import { keyOf, valueOf } from "./keys.js";
import { Counters, deadlineError } from "./load-counters.js";
import type { LoadJob } from "./load-job.js";
import { openWatch, watchKey, type WatchResponse } from "./watch-stream.js";
import { closedLoop, measuredEnd, openChannels, readyThenStart, reportProgress, send, sleep, type WorkerControl } from "./worker-context.js";

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

/**
 * Lease expiry notice time. `clients` slots, started evenly spread over TTL + 1 s (so that the expiries
 * fall at every phase of the server's expiry loop); each slot (one lease each in the lease-expiry
 * workload, until `total` / the deadline in general, with a random pause in between): open a Watch
 * on a key of its own, LeaseGrant(leaseTtl), Put the key attached to the lease, then wait for the
 * DELETE event. A "request" is one lease; its latency = DELETE event received − (grant response
 * received + granted TTL), i.e. how long after its nominal expiry a watcher learns that the lease is
 * gone (negative values, a lease revoked before its nominal expiry as the client saw it, are recorded
 * as 0). A lease whose DELETE does not arrive within 5 s (or --timeout) after the nominal expiry is a
 * timeout. `ops` holds the same samples keyed by the TTL the server granted ("ttl-2s").
 */
export async function runLeaseExpiry(j: LoadJob, ctl: WorkerControl): Promise<void> {
  const channels = await openChannels(j);
  const chOf = (c: number) => channels[c % channels.length]!;
  const value = valueOf(j.valSize);
  const t = j.timeoutMs;
  // Warm-up: a Range on every channel (connections and services up); nothing else is worth warming.
  let warm = 0;
  for (const ch of channels) {
    warm++;
    await unary(ch.kv(), "Range", { key: Buffer.from(j.keyPrefix), serializable: true }, t).catch(() => undefined);
  }
  const leftovers: Array<{ ch: EtcdChannel; id: string }> = [];

  const oneLease = async (c: number, n: number): Promise<{ ms: number; ttl: number }> => {
    const ch = chOf(c);
    const key = keyOf(`${j.keyPrefix}${c}-`, n, j.keySize);
    const call = openWatch(ch);
    let onCreated!: () => void;
    let onDeleted!: (at: number) => void;
    let onFail!: (e: unknown) => void;
    const created = new Promise<void>((r) => (onCreated = r));
    const deleted = new Promise<number>((r) => (onDeleted = r));
    const failed = new Promise<never>((_, rej) => (onFail = rej));
    failed.catch(() => undefined);
    call.on("data", (res: WatchResponse) => {
      if (res.created) onCreated();
      if (res.canceled) onFail(new Error(`watch canceled${res.cancel_reason ? `: ${res.cancel_reason}` : ""}`));
      for (const ev of res.events ?? []) if (ev.type === 1 || ev.type === "DELETE") onDeleted(performance.now());
    });
    call.on("error", (e: unknown) => onFail(e));
    let id: string | undefined;
    const timer = (ms: number, what: string) => {
      let h!: NodeJS.Timeout;
      const p = new Promise<never>((_, rej) => (h = setTimeout(() => rej(deadlineError(what)), Math.max(0, ms))));
      p.catch(() => undefined);
      return { p, clear: () => clearTimeout(h) };
    };
    try {
      call.write(watchKey(key));
      const tc = timer(t, "watch not created within the deadline");
      try {
        await Promise.race([created, failed, tc.p]);
      } finally {
        tc.clear();
      }
      const g = await unary(ch.lease(), "LeaseGrant", { TTL: j.leaseTtl, ID: 0 }, t);
      const grantedAt = performance.now();
      id = String(g.ID);
      const ttl = Number(g.TTL);
      await unary(ch.kv(), "Put", { key, value, lease: id }, t);
      const nominal = grantedAt + ttl * 1000;
      const te = timer(nominal + Math.max(5000, t) - performance.now(), "expiry not noticed within 5 s of the nominal expiry");
      let at: number;
      try {
        at = await Promise.race([deleted, failed, te.p]);
      } finally {
        te.clear();
      }
      id = undefined;
      return { ms: Math.max(0, at - nominal), ttl };
    } finally {
      // A lease that did not expire as it should is revoked at the end (it would expire in the next trial).
      if (id) leftovers.push({ ch, id });
      try {
        call.cancel();
      } catch {
        /* gone */
      }
    }
  };

  const { startAt, wall0, cpu0 } = await readyThenStart(ctl);
  const k = new Counters(startAt);
  const { deadline, total } = measuredEnd(j, startAt);
  const spacing = (j.leaseTtl * 1000 + 1000) / Math.max(1, j.clients);
  // An even share per slot, so that a slot done early cannot take a later slot's (staggered) start.
  const perSlot = j.total != null ? Math.ceil(j.total / Math.max(1, j.clients)) : Infinity;
  const progress = reportProgress(k);
  await Promise.all(
    Array.from({ length: j.clients }, async (_, c) => {
      const startSlot = startAt + c * spacing;
      while (Date.now() < startSlot && !ctl.stopped) await sleep(Math.min(50, startSlot - Date.now()));
      for (let n = 0; n < perSlot; n++) {
        if (ctl.stopped || k.sent >= total || Date.now() >= deadline) return;
        k.sent++; // taken before any await: never more than `total` leases
        // A slot's next lease would start in phase with the server's expiry loop (the DELETE came from one
        // of its ticks): a random pause of up to 1 s breaks that.
        if (n > 0) await sleep(Math.random() * 1000);
        try {
          const r = await oneLease(c, n);
          k.success(r.ms, `ttl-${r.ttl}s`);
        } catch (e) {
          k.failure(e);
        }
      }
    }),
  );
  clearInterval(progress);
  const result = k.result(warm, cpu0, wall0);
  await pool(leftovers, 16, async (l) => void (await unary(l.ch.lease(), "LeaseRevoke", { ID: l.id }, Math.min(t, 2000)).catch(() => undefined)));
  send({ type: "result", result });
  for (const ch of channels) ch.close();
}
