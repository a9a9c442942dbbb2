/**
 * The lessor (etcd 3.4's lease/lessor.go semantics; see README.md beside this file).
 *
 * State that every member holds identically (changed only by applied raft entries): the leases
 * (ID, granted TTL) persisted in the backend's `lease` bucket, and which keys are attached to which
 * lease (rebuilt from the KV store's lease fields, never persisted separately).
 *
 * State only the leader ("primary") holds: expiry times. Followers keep every lease at "forever";
 * on promotion every lease gets `now + extend + TTL` (its checkpointed remaining TTL instead, when
 * --experimental-enable-lease-checkpoint had the old leader checkpoint it); a demoted lessor forgets
 * its expiries.
 * Expired leases are found by the leader (findExpired) and revoked through raft by the server.
 */
import type { Bucket } from "../backend/backend.js";
import { ErrLeaseExists, ErrLeaseNotFound, ErrLeaseTTLTooLarge, NotPrimaryError } from "./errors.js";
import type { LeaseHooks } from "../mvcc/store.js";
import { decodeLease, encodeLease, leaseKey } from "./lease-codec.js";

/** etcd's MaxLeaseTTL (lease/lessor.go): a TTL above it is ErrLeaseTTLTooLarge. */
export const MAX_LEASE_TTL = 9_000_000_000;
export const LEASE_BUCKET = "lease";


export interface LessorLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface LessorOptions {
  /** Shortest TTL granted (a shorter or non-positive request gets this). See minLeaseTtl(). */
  readonly minTtl: number;
  /** Milliseconds since some epoch; injected by tests. Default Date.now. */
  readonly now?: () => number;
  /** After an expired lease is reported, report it again only after this long (etcd: the request timeout). */
  readonly expiredRetryMs?: number;
  readonly logger?: LessorLogger;
  /**
   * --experimental-enable-lease-checkpoint: the primary schedules a checkpoint of each lease's
   * remaining TTL every checkpointIntervalMs (etcd's default 5 minutes), taken by checkpointsDue().
   */
  readonly checkpointing?: boolean;
  readonly checkpointIntervalMs?: number;
}

/** etcd's defaultLeaseCheckpointInterval. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5 * 60 * 1000;

export interface LeaseCheckpoint {
  readonly id: bigint;
  /** Seconds left, rounded up (0: clear the checkpoint). */
  readonly remainingTtl: number;
}

/**
 * etcd's minimum lease TTL: (3 * electionTicks / 2) heartbeats, rounded up to whole seconds
 * (etcdserver/server.go; integer divisions as in Go). Defaults (100 ms, 1000 ms) give 2 s.
 */
export function minLeaseTtl(heartbeatMs: number, electionMs: number): number {
  const electionTicks = Math.floor(electionMs / heartbeatMs);
  const minTtlMs = Math.floor((3 * electionTicks) / 2) * heartbeatMs;
  return Math.ceil(minTtlMs / 1000);
}

export class Lease {
  /** Expiry in the lessor's clock (ms); Infinity = forever (followers, and leases on a demoted lessor). */
  expiry = Infinity;
  /** The time this lease's valid entry in the expiry heap fires at (-1: none). */
  heapTime = -1;
  /** Attached keys as latin1 strings (one char per byte: string order is byte order). */
  readonly items = new Set<string>();
  revoked = false;
  private revokeWaiters: Array<() => void> = [];

  constructor(
    readonly id: bigint,
    /** Granted TTL in seconds (after raising to the minimum). */
    readonly ttl: number,
    /** Last checkpointed remaining TTL in seconds (0 = unset: use ttl); set by applied LeaseCheckpoint entries. */
    public remainingTtl = 0,
  ) {}

  /** The lease's attached keys, sorted bytewise. */
  keys(): Buffer[] {
    return [...this.items].sort().map((k) => Buffer.from(k, "latin1"));
  }

  /** @internal */
  whenRevoked(): Promise<void> {
    if (this.revoked) return Promise.resolve();
    return new Promise((r) => this.revokeWaiters.push(r));
  }

  /** @internal */
  markRevoked(): void {
    this.revoked = true;
    for (const w of this.revokeWaiters.splice(0)) w();
  }
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

interface HeapItem {
  readonly id: bigint;
  readonly time: number;
}

/** A binary min-heap on time. Entries are invalidated lazily (see Lessor.findExpired). */
class ExpiryHeap {
  private readonly a: HeapItem[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): HeapItem | undefined {
    return this.a[0];
  }
  push(it: HeapItem): void {
    const a = this.a;
    a.push(it);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.time <= it.time) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = it;
  }
  pop(): HeapItem | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]!.time < a[l]!.time ? r : l;
        if (a[c]!.time >= last.time) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
  clear(): void {
    this.a.length = 0;
  }
}

export class Lessor {
  private leaseMap = new Map<bigint, Lease>();
  /** key (latin1) -> lease it is attached to */
  private itemMap = new Map<string, bigint>();
  private readonly heap = new ExpiryHeap();
  /** When each lease's next checkpoint is due (primary only; stale entries are skipped). */
  private readonly checkpointHeap = new ExpiryHeap();
  private readonly checkpointing: boolean;
  private readonly checkpointIntervalMs: number;
  private primary = false;
  /** Resolved (and replaced) at each demotion: what renewals waiting for a revoke race against. */
  private demoted = signal();
  private stopped = false;
  readonly minTtl: number;
  private readonly now: () => number;
  private readonly expiredRetryMs: number;
  private readonly log: LessorLogger | undefined;

  /** The hooks the KV store and the KV apply functions use. */
  readonly hooks: LeaseHooks = {
    exists: (id) => this.leaseMap.has(id),
    attach: (id, key) => this.attach(id, key),
    detach: (id, key) => this.detach(id, key),
    leaseOf: (key) => this.leaseOf(key),
  };

  /** `bucket` undefined: nothing is persisted (tests). */
  constructor(
    private readonly bucket: Bucket | undefined,
    opts: LessorOptions,
  ) {
    this.minTtl = opts.minTtl;
    this.now = opts.now ?? Date.now;
    this.expiredRetryMs = opts.expiredRetryMs ?? 3000;
    this.log = opts.logger;
    this.checkpointing = opts.checkpointing ?? false;
    this.checkpointIntervalMs = opts.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    this.recover();
  }

  /**
   * (Re)load the leases from the bucket: attached keys are forgotten (the KV store re-attaches them),
   * every lease is at "forever" until the next promote. Called at open and after the backend was
   * replaced by a snapshot from the leader.
   */
  recover(): void {
    this.leaseMap = new Map();
    this.itemMap = new Map();
    this.heap.clear();
    if (!this.bucket) return;
    for (const { value } of this.bucket.getRange({})) {
      const r = decodeLease(value);
      const l = new Lease(r.id, Math.max(r.ttl, this.minTtl), r.remainingTtl);
      this.leaseMap.set(l.id, l);
    }
    if (this.primary) for (const l of this.leaseMap.values()) this.refresh(l, 0);
  }

  isPrimary(): boolean {
    return this.primary;
  }

  size(): number {
    return this.leaseMap.size;
  }

  // ------------------------------------------------------------ applied state changes

  /** Apply a LeaseGrant (every member, in log order). */
  grant(id: bigint, ttl: number): Lease {
    if (id === 0n) throw ErrLeaseNotFound;
    if (ttl > MAX_LEASE_TTL) throw ErrLeaseTTLTooLarge;
    if (this.leaseMap.has(id)) throw ErrLeaseExists;
    const l = new Lease(id, Math.max(ttl, this.minTtl));
    if (this.primary) {
      this.refresh(l, 0);
      this.scheduleCheckpoint(l);
    }
    this.leaseMap.set(id, l);
    this.bucket?.put(leaseKey(id), encodeLease({ id, ttl: l.ttl, remainingTtl: 0 }));
    return l;
  }

  /**
   * Apply a LeaseRevoke: `deleteKeys` gets the attached keys sorted bytewise (the same order on every
   * member) and must delete them in ONE write transaction; then the lease leaves the map and the
   * bucket — synchronously, so the bucket row goes in the same backend batch as the key deletions.
   */
  revoke(id: bigint, deleteKeys: (keys: Buffer[]) => void): void {
    const l = this.leaseMap.get(id);
    if (!l) throw ErrLeaseNotFound;
    deleteKeys(l.keys());
    this.leaseMap.delete(id);
    for (const k of l.items) if (this.itemMap.get(k) === id) this.itemMap.delete(k);
    l.items.clear();
    this.bucket?.remove(leaseKey(id));
    l.markRevoked();
  }

  private attach(id: bigint, key: Buffer): void {
    const l = this.leaseMap.get(id);
    if (!l) {
      this.log?.warn("lessor: attaching a key to a lease that does not exist", { lease: id.toString(16) });
      return;
    }
    const k = key.toString("latin1");
    l.items.add(k);
    this.itemMap.set(k, id);
  }

  private detach(id: bigint, key: Buffer): void {
    const l = this.leaseMap.get(id);
    if (!l) return; // revoked: etcd's Detach answers ErrLeaseNotFound, which the store ignores
    const k = key.toString("latin1");
    l.items.delete(k);
    if (this.itemMap.get(k) === id) this.itemMap.delete(k);
  }

  // ------------------------------------------------------------ reads

  lookup(id: bigint): Lease | undefined {
    return this.leaseMap.get(id);
  }

  /** The lease a key is attached to (0n: none). */
  leaseOf(key: Buffer): bigint {
    // asked for every key a write commits: with nothing attached, no key string is made
    if (this.itemMap.size === 0) return 0n;
    return this.itemMap.get(key.toString("latin1")) ?? 0n;
  }

  /** Milliseconds until the lease expires (Infinity when this lessor holds no expiry for it). */
  remainingMs(l: Lease): number {
    return l.expiry === Infinity ? Infinity : l.expiry - this.now();
  }

  /** etcd's TimeToLive TTL: the remaining time truncated to whole seconds (toward zero). */
  remainingSeconds(l: Lease): number {
    const ms = this.remainingMs(l);
    return ms === Infinity ? 9_223_372_036 : Math.trunc(ms / 1000);
  }

  /** Every lease, soonest expiry first (etcd's Leases()). */
  leases(): Lease[] {
    const ls = [...this.leaseMap.values()];
    if (this.primary) ls.sort((a, b) => a.expiry - b.expiry);
    return ls;
  }

  // ------------------------------------------------------------ primary only

  /**
   * Renew (keep-alive), on the primary only: the lease's expiry becomes now + TTL; returns the TTL.
   * An expired lease that is being revoked answers ErrLeaseNotFound once the revoke is applied
   * (etcd waits for it); NotPrimaryError if this lessor is or becomes a follower meanwhile.
   */
  async renew(id: bigint): Promise<number> {
    if (!this.primary || this.stopped) throw new NotPrimaryError();
    const l = this.leaseMap.get(id);
    if (!l) throw ErrLeaseNotFound;
    if (this.remainingMs(l) <= 0) {
      const outcome = await Promise.race([l.whenRevoked().then(() => "revoked" as const), this.demoted.promise.then(() => "demoted" as const)]);
      if (outcome === "revoked") throw ErrLeaseNotFound;
      throw new NotPrimaryError();
    }
    this.refresh(l, 0);
    return l.ttl;
  }

  /** Become the primary: every lease expires `extendMs` later than its full TTL from now (etcd's Promote). */
  promote(extendMs: number): void {
    this.primary = true;
    this.heap.clear();
    this.checkpointHeap.clear();
    for (const l of this.leaseMap.values()) {
      this.refresh(l, extendMs);
      this.scheduleCheckpoint(l);
    }
  }

  /** Stop being the primary: expiries are forgotten (forever), waiting renewals answer NotPrimary. */
  demote(): void {
    for (const l of this.leaseMap.values()) {
      l.expiry = Infinity;
      l.heapTime = -1;
    }
    this.heap.clear();
    this.checkpointHeap.clear();
    this.primary = false;
    this.demoted.resolve();
    this.demoted = signal();
  }

  /**
   * Up to `limit` leases past their expiry (primary only). A lease reported here is reported again
   * only after expiredRetryMs if it is still there (its revoke may have failed), as etcd's
   * expired-lease notifier does.
   */
  findExpired(limit: number): Lease[] {
    const out: Lease[] = [];
    if (!this.primary) return out;
    const now = this.now();
    while (out.length < limit) {
      const top = this.heap.peek();
      if (!top) break;
      const l = this.leaseMap.get(top.id);
      if (!l || l.heapTime !== top.time) {
        this.heap.pop(); // stale: revoked, renewed or rescheduled since
        continue;
      }
      if (now < top.time) break;
      this.heap.pop();
      l.heapTime = now + this.expiredRetryMs;
      this.heap.push({ id: l.id, time: l.heapTime });
      if (l.expiry <= now) out.push(l);
    }
    return out;
  }

  /** Resolves renewals that wait for a revoke (NotPrimary) and stops answering as primary. */
  stop(): void {
    this.stopped = true;
    this.demote();
  }

  /**
   * Apply a LeaseCheckpoint (every member): the remaining TTL a new primary starts the lease from
   * (etcd 3.4 keeps it in memory only). The primary schedules the lease's next checkpoint.
   */
  checkpoint(id: bigint, remainingTtl: number): void {
    const l = this.leaseMap.get(id);
    if (!l) return;
    l.remainingTtl = remainingTtl;
    if (this.primary) this.scheduleCheckpoint(l);
  }

  /** Renewing this lease must first clear its checkpoint through raft (etcd: cp set and remainingTTL > 0). */
  needsCheckpointClear(id: bigint): boolean {
    const l = this.leaseMap.get(id);
    return this.checkpointing && l !== undefined && l.remainingTtl > 0;
  }

  /** etcd's findDueScheduledCheckpoints: up to `limit` due checkpoints of live, partly used leases. */
  checkpointsDue(limit: number): LeaseCheckpoint[] {
    const out: LeaseCheckpoint[] = [];
    if (!this.primary || !this.checkpointing) return out;
    const now = this.now();
    while (out.length < limit) {
      const top = this.checkpointHeap.peek();
      if (!top || top.time > now) break;
      this.checkpointHeap.pop();
      const l = this.leaseMap.get(top.id);
      if (!l || now >= l.expiry) continue;
      const remainingTtl = Math.ceil((l.expiry - now) / 1000);
      if (remainingTtl >= l.ttl) continue;
      out.push({ id: l.id, remainingTtl });
    }
    return out;
  }

  /** etcd's scheduleCheckpointIfNeeded: only a lease with more left than one interval. */
  private scheduleCheckpoint(l: Lease): void {
    if (!this.checkpointing) return;
    const left = l.remainingTtl > 0 ? l.remainingTtl : l.ttl;
    if (left * 1000 > this.checkpointIntervalMs) this.checkpointHeap.push({ id: l.id, time: this.now() + this.checkpointIntervalMs });
  }

  private refresh(l: Lease, extendMs: number): void {
    const ttl = l.remainingTtl > 0 ? l.remainingTtl : l.ttl;
    l.expiry = this.now() + extendMs + ttl * 1000;
    l.heapTime = l.expiry;
    this.heap.push({ id: l.id, time: l.expiry });
  }
}
