/**
 * The lease-expiry runner of a load generator process (bench/load-worker.ts): how long after its nominal
 * expiry a watcher learns that a lease is gone, and how long a mass expiry takes to drain.
 */
import { randomBytes } from "node:crypto";
import { EtcdChannel, prefixEnd, unary } from "./etcd-client.js";
import { keyOf, valueOf } from "./keys.js";
import { Counters, deadlineError } from "./load-counters.js";
import type { LoadJob } from "./load-job.js";
import { openWatch, type WatchCall, type WatchResponse } from "./watch-stream.js";
import { measuredEnd, openChannels, readyThenStart, reportProgress, send, sleep, type WorkerControl } from "./worker-context.js";

/** Grants (with their puts) in flight at once: spread, not a flood, when the server is slower than the schedule. */
const GRANTS_IN_FLIGHT = 64;
/** etcd's expired-lease revoke rate (lease/lessor.go leaseRevokeRate), per second. */
const ETCD_REVOKE_RATE = 1000;

/**
 * How long after a lease's nominal expiry its DELETE may arrive before it counts as a timeout: 5 s (or the
 * request timeout), and at least twice what etcd's revoke rate needs to revoke every lease of the trial,
 * so that a mass expiry that etcd drains in time is not cut short.
 */
export function noticeWaitMs(leases: number, timeoutMs: number): number {
  return Math.max(5000, timeoutMs, Math.ceil((2 * leases * 1000) / ETCD_REVOKE_RATE));
}

/** A counting semaphore for the grant phase. */
function semaphore(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let free = n;
  const waiting: Array<() => void> = [];
  return async (f) => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      return await f();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/**
 * One Watch stream on a key prefix (DELETE events only, NOPUT filter): resolves a waiter when the DELETE of
 * its key arrives; a canceled or failed stream fails every waiter.
 */
class DeleteWatch {
  private readonly waiters = new Map<string, { resolve: (at: number) => void; reject: (e: unknown) => void }>();
  private failure: unknown;
  private readonly call: WatchCall;
  readonly created: Promise<void>;

  constructor(ch: EtcdChannel, prefix: Buffer, timeoutMs: number) {
    this.call = openWatch(ch);
    let onCreated!: () => void;
    let onFail!: (e: unknown) => void;
    this.created = new Promise<void>((res, rej) => {
      onCreated = res;
      onFail = rej;
    });
    this.created.catch(() => undefined);
    const timer = setTimeout(() => onFail(deadlineError("watch not created within the deadline")), timeoutMs);
    const fail = (e: unknown) => {
      clearTimeout(timer);
      onFail(e);
      this.failure ??= e;
      for (const w of this.waiters.values()) w.reject(e);
      this.waiters.clear();
    };
    this.call.on("data", (res: WatchResponse) => {
      if (res.created) {
        clearTimeout(timer);
        onCreated();
      }
      if (res.canceled) fail(new Error(`watch canceled${res.cancel_reason ? `: ${res.cancel_reason}` : ""}`));
      const at = performance.now();
      for (const ev of res.events ?? []) {
        if (!(ev.type === 1 || ev.type === "DELETE") || !ev.kv?.key) continue;
        const k = Buffer.from(ev.kv.key).toString("latin1");
        const w = this.waiters.get(k);
        if (w) {
          this.waiters.delete(k);
          w.resolve(at);
        }
      }
    });
    this.call.on("error", (e: unknown) => fail(e));
    this.call.write({ create_request: { key: prefix, range_end: prefixEnd(prefix), start_revision: 0, filters: [0 /* NOPUT */] } });
  }

  /** Registered before the key is written: the DELETE cannot come first. */
  deleted(key: Buffer): Promise<number> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<number>((resolve, reject) => this.waiters.set(key.toString("latin1"), { resolve, reject }));
  }

  forget(key: Buffer): void {
    this.waiters.delete(key.toString("latin1"));
  }

  close(): void {
    try {
      this.call.cancel();
    } catch {
      /* gone */
    }
  }
}

/**
 * Lease expiry notice time. `clients` slots (one lease each in the lease-expiry workload), started evenly
 * spread over TTL + 1 s so that the expiries fall at every phase of the server's expiry loop, at most
 * GRANTS_IN_FLIGHT granting at once; each: LeaseGrant(leaseTtl), Put of a key of its own attached to the
 * lease, then wait for the key's DELETE event. One Watch stream per channel watches that channel's keys
 * (under a prefix of this trial only), created before any grant. A "request" is one lease; its latency =
 * DELETE event received − (grant response received + granted TTL), i.e. how long after its nominal expiry
 * a watcher learns that the lease is gone (negative values, a lease revoked before its nominal expiry as
 * the client saw it, are recorded as 0). A lease whose DELETE does not arrive within noticeWaitMs() after
 * the nominal expiry is a timeout. The measured window ends with the last DELETE: with no timeout it is
 * the time from the first grant until no lease is left. `ops` holds the same samples keyed by the TTL the
 * server granted ("ttl-2s").
 */
export async function runLeaseExpiry(j: LoadJob, ctl: WorkerControl): Promise<void> {
  const channels = await openChannels(j);
  const value = valueOf(j.valSize);
  const t = j.timeoutMs;
  const trialPrefix = `${j.keyPrefix}${randomBytes(4).toString("hex")}/`;
  const watches = channels.map((ch, i) => new DeleteWatch(ch, Buffer.from(`${trialPrefix}${i}/`), Math.max(3000, t)));
  // Warm-up: the watches created (connections and services up); nothing else is worth warming.
  await Promise.all(watches.map((w) => w.created));
  const warm = watches.length;
  const waitMs = noticeWaitMs(j.clients, t);
  const granting = semaphore(GRANTS_IN_FLIGHT);
  const leftovers: Array<{ ch: EtcdChannel; id: string }> = [];

  const oneLease = async (c: number, n: number): Promise<{ ms: number; ttl: number }> => {
    const w = c % channels.length;
    const ch = channels[w]!;
    const key = keyOf(`${trialPrefix}${w}/${c}-`, n, j.keySize);
    const deleted = watches[w]!.deleted(key);
    deleted.catch(() => undefined);
    let id: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const { grantedAt, ttl } = await granting(async () => {
        const g = await unary(ch.lease(), "LeaseGrant", { TTL: j.leaseTtl, ID: 0 }, t);
        const at = performance.now();
        id = String(g.ID);
        await unary(ch.kv(), "Put", { key, value, lease: id }, t);
        return { grantedAt: at, ttl: Number(g.TTL) };
      });
      const nominal = grantedAt + ttl * 1000;
      const late = new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(deadlineError(`expiry not noticed within ${waitMs} ms of the nominal expiry`)), Math.max(0, nominal + waitMs - performance.now()));
      });
      late.catch(() => undefined);
      const at = await Promise.race([deleted, late]);
      id = undefined;
      return { ms: Math.max(0, at - nominal), ttl };
    } finally {
      clearTimeout(timer);
      watches[w]!.forget(key);
      // A lease that did not expire as it should is revoked at the end (it would expire in the next trial).
      if (id) leftovers.push({ ch, id });
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
      // one timer per slot (thousands of slots: no polling)
      if (startSlot > Date.now()) await sleep(startSlot - Date.now());
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
  for (const w of watches) w.close();
  const cleanup = semaphore(GRANTS_IN_FLIGHT);
  await Promise.all(leftovers.map((l) => cleanup(() => unary(l.ch.lease(), "LeaseRevoke", { ID: l.id }, Math.min(t, 2000)).catch(() => undefined))));
  send({ type: "result", result });
  for (const ch of channels) ch.close();
}
