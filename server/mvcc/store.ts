/**
 * The MVCC key-value store (etcd 3.4's mvcc semantics; see README.md beside this file).
 *
 * State: an in-memory key index (TreeIndex) + the key bucket in the backend, where each
 * revision's rows live under etcd's 17/18-byte revision keys with etcd's protobuf values.
 * Writes go to the backend asynchronously (one lmdb transaction per event-loop turn); until
 * a revision's batch commits, its KeyValues are served from `pending`.
 */
import { type Backend, type Bucket, BUCKET_KEY, BUCKET_META } from "../backend/backend.js";
import { ErrCompacted, ErrFutureRev } from "./errors.js";
import { EventType, type Event, type KeyValue } from "../pb/kv.js";
import { compactHistory, META_FINISHED_COMPACT, META_SCHEDULED_COMPACT, type CompactionTarget } from "./compaction.js";
import { hashByRev } from "./hash.js";
import type { KeyRev } from "./key-index.js";
import { decodeKeyValue, encodeKeyValue, encodeTombstone } from "./kv-codec.js";
import { PendingRevisions } from "./pending-revisions.js";
import { bytesToMain, REV_BYTES_LEN, revToBytes } from "./revision.js";
import { keyString, rangeEndString, TreeIndex } from "./tree-index.js";
import { rebuildIndex } from "./rebuild-index.js";
import { committedEvents, copyOut } from "./history.js";
import { ConsistentIndex } from "./consistent-index.js";
import { StoreWriteTxn, type RangeOptions, type RangeResult, type TxnStore, type WriteTxn } from "./write-txn.js";
import type { StoreLeaseHooks } from "./lease-hooks.js";

export type { RangeOptions, RangeResult, WriteTxn } from "./write-txn.js";
export type { LeaseHooks, StoreLeaseHooks } from "./lease-hooks.js";

export interface MvccLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}
const noopLogger: MvccLogger = { info() {}, warn() {}, error() {} };

export interface MvccStoreOptions {
  readonly logger?: MvccLogger;
  /** The lease hooks the store calls (attach, detach, leaseOf). Can be set later with setLeaseHooks. */
  readonly leases?: StoreLeaseHooks;
  /** Rows deleted per backend batch during physical compaction (etcd: 1000). */
  readonly compactionBatchLimit?: number;
  /** Keys compacted per step of the in-memory index compaction. */
  readonly compactionIndexBatch?: number;
}

export type CommitListener = (events: Event[], rev: number) => void;

class StoreClosedError extends Error {
  override readonly name = "StoreClosedError";
  constructor() {
    super("mvcc: closed");
  }
}

export class MvccStore {
  private readonly keys: Bucket;
  private readonly meta: Bucket;
  private index = new TreeIndex();
  private log: MvccLogger;
  private leases: StoreLeaseHooks | undefined;
  /** How many consumers want a put's event to carry the key's previous value (retainPrevKv). */
  private prevKvConsumers = 0;

  private currentRev = 1;
  private compactMainRev = -1;
  private readonly ci: ConsistentIndex;

  /** Events of revisions whose backend batch has not committed yet. */
  private readonly pending = new PendingRevisions();

  private readonly listeners = new Set<CommitListener>();
  private inWrite = false;
  private fifo: Promise<void> = Promise.resolve();
  private stopping = false;
  private closed = false;
  private readonly unsubscribeBackend: () => void;
  private readonly scratchKey = Buffer.allocUnsafe(REV_BYTES_LEN);
  /** What write transactions reach of the store's internals. */
  private readonly txnStore: TxnStore = {
    keyIndex: () => this.index,
    readKv: (main, sub) => this.readKv(main, sub),
    prevKvWanted: () => this.prevKvConsumers > 0,
    rangeKeys: (key, rangeEnd, opts, curRev, txn) => this.rangeKeys(key, rangeEnd, opts, curRev, txn),
  };
  /** What the physical compaction works on. */
  private readonly compactionTarget: CompactionTarget;

  private constructor(
    readonly backend: Backend,
    opts: MvccStoreOptions,
  ) {
    this.log = opts.logger ?? noopLogger;
    this.leases = opts.leases;
    this.keys = backend.bucket(BUCKET_KEY);
    this.meta = backend.bucket(BUCKET_META);
    this.ci = new ConsistentIndex(this.meta);
    this.unsubscribeBackend = backend.onBatchCommit((b) => this.pending.committed(b));
    this.compactionTarget = {
      index: () => this.index,
      keys: this.keys,
      meta: this.meta,
      backend,
      checkRunning: () => {
        if (this.stopping) throw new StoreClosedError();
      },
      log: this.log,
      batchLimit: opts.compactionBatchLimit ?? 1000,
      indexBatch: opts.compactionIndexBatch ?? 10_000,
    };
  }

  /**
   * Open the store over a backend: rebuilds the key index from the key bucket, restores the
   * consistent index and compaction state, resumes an interrupted compaction, and re-attaches
   * leased keys through `opts.leases`.
   */
  static open(backend: Backend, opts: MvccStoreOptions = {}): MvccStore {
    const s = new MvccStore(backend, opts);
    s.restore();
    return s;
  }

  // ---------------------------------------------------------------- state

  currentRevision(): number {
    return this.currentRev;
  }

  /** The compacted revision: -1 if never compacted (as etcd), else the last scheduled compaction. */
  compactedRevision(): number {
    return this.compactMainRev;
  }

  /** Index of the last raft entry applied (persisted with the writes it covers). */
  consistentIndex(): number {
    return this.ci.index;
  }

  /** Raft term of that entry, when the server provides it (0 otherwise). */
  consistentTerm(): number {
    return this.ci.term;
  }

  /** Number of keys in the index (live or with history), for metrics. */
  indexedKeys(): number {
    return this.index.size;
  }

  setLeaseHooks(leases: StoreLeaseHooks | undefined, reattach = true): void {
    this.leases = leases;
    if (leases && reattach) {
      this.index.visitAt("", undefined, this.currentRev, (_ki, r) => {
        const kv = this.readKv(r.main, r.sub);
        if (kv.lease !== 0n) leases.attach(kv.lease, kv.key);
      });
    }
  }

  /**
   * Record that raft entry `index` (of `term`) has been applied although it changed no key
   * (lease, auth, member entries, failed requests). Queued with whatever else this event-loop
   * turn writes. Lower or equal indexes are ignored.
   */
  setConsistentIndex(index: number, term?: number): void {
    this.checkOpen();
    this.ci.save(index, term);
  }

  // ---------------------------------------------------------------- reads

  /** Read [key, rangeEnd) (etcd's range-end rules) at the current or a past revision. */
  range(key: Buffer, rangeEnd: Buffer, opts: RangeOptions = {}): RangeResult {
    this.checkOpen();
    return this.rangeKeys(key, rangeEnd, opts, this.currentRev, undefined);
  }

  private rangeKeys(key: Buffer, rangeEnd: Buffer, opts: RangeOptions, curRev: number, txn: StoreWriteTxn | undefined): RangeResult {
    let rev = opts.revision ?? 0;
    if (rev > curRev) throw ErrFutureRev;
    if (rev <= 0) rev = curRev;
    if (rev < this.compactMainRev) throw ErrCompacted;
    const countOnly = opts.countOnly === true;
    const limit = opts.limit ?? 0;

    if (rangeEnd.length === 0) {
      const r = this.index.get(keyString(key), rev);
      if (r === undefined) return { kvs: [], count: 0, rev: curRev };
      if (countOnly) return { kvs: [], count: 1, rev: curRev };
      return { kvs: [txn ? txn.readKv(r.main, r.sub) : this.readKv(r.main, r.sub)], count: 1, rev: curRev };
    }

    const found: KeyRev[] = [];
    this.index.visitAt(keyString(key), rangeEndString(rangeEnd), rev, (_ki, r) => {
      found.push(r);
    });
    const count = found.length;
    if (countOnly || count === 0) return { kvs: [], count, rev: curRev };
    const n = limit <= 0 || limit > count ? count : limit;
    const kvs = new Array<KeyValue>(n);
    for (let i = 0; i < n; i++) {
      const r = found[i]!;
      kvs[i] = txn ? txn.readKv(r.main, r.sub) : this.readKv(r.main, r.sub);
    }
    return { kvs, count, rev: curRev };
  }

  /** The KeyValue stored at (main, sub): pending overlay first, then the backend. */
  private readKv(main: number, sub: number): KeyValue {
    const evs = this.pending.get(main);
    if (evs !== undefined) {
      const ev = evs[sub];
      if (ev !== undefined && ev.type === EventType.Put) return ev.kv;
    }
    const k = this.scratchKey;
    k.writeUInt32BE(Math.floor(main / 0x1_0000_0000), 0);
    k.writeUInt32BE(main >>> 0, 4);
    k[8] = 0x5f;
    k.writeUInt32BE(Math.floor(sub / 0x1_0000_0000), 9);
    k.writeUInt32BE(sub >>> 0, 13);
    const raw = this.keys.getVolatile(k);
    if (raw === undefined) {
      this.log.error("mvcc: range failed to find revision pair", { main, sub, current: this.currentRev });
      throw new Error(`mvcc: cannot find revision ${main}.${sub} in the backend`);
    }
    return decodeKeyValue(copyOut(raw));
  }

  // ---------------------------------------------------------------- writes

  /**
   * One atomic write transaction: every put/delete inside gets main revision current+1 and sub
   * revisions 0,1,2… in order; reads inside see earlier writes of the same transaction. If `fn`
   * throws, its writes are undone (nothing reaches the backend) and the error propagates.
   * `consistentIndex` (and `term`, if given) is recorded either way, queued in the same backend
   * batch as the writes. If nothing was written, the revision does not move. `fn` must be
   * synchronous. Commit listeners run after the revision is visible.
   */
  write<T>(consistentIndex: number, fn: (txn: WriteTxn) => T, term?: number): T {
    this.checkOpen();
    if (this.inWrite) throw new Error("mvcc: nested write transaction");
    this.inWrite = true;
    const txn = new StoreWriteTxn(this.txnStore, this.currentRev);
    let result: T;
    try {
      result = fn(txn);
      if (result !== null && typeof result === "object" && typeof (result as { then?: unknown }).then === "function") {
        throw new TypeError("mvcc: write transaction callback must be synchronous");
      }
    } catch (e) {
      txn.rollback();
      this.inWrite = false;
      this.ci.save(consistentIndex, term);
      throw e;
    }
    try {
      this.commit(txn, consistentIndex, term);
    } finally {
      this.inWrite = false;
    }
    return result;
  }

  private commit(txn: StoreWriteTxn, consistentIndex: number, term?: number): void {
    txn.end();
    const changes = txn.changeList;
    if (changes.length === 0) {
      this.ci.save(consistentIndex, term);
      return;
    }
    const main = txn.beginRevision + 1;
    const events = new Array<Event>(changes.length);
    for (let sub = 0; sub < changes.length; sub++) {
      const ev = changes[sub]!.event;
      events[sub] = ev;
      if (ev.type === EventType.Put) this.keys.put(revToBytes(main, sub), encodeKeyValue(ev.kv));
      else this.keys.put(revToBytes(main, sub, true), encodeTombstone(ev.kv.key));
    }
    this.ci.save(consistentIndex, term);
    this.pending.add(this.backend.lastIssuedBatch(), main, events);
    this.currentRev = main;

    const leases = this.leases;
    if (leases) {
      for (const ev of events) {
        const prevLease = leases.leaseOf(ev.kv.key);
        if (prevLease !== 0n) leases.detach(prevLease, ev.kv.key);
        if (ev.type === EventType.Put && ev.kv.lease !== 0n) leases.attach(ev.kv.lease, ev.kv.key);
      }
    }
    for (const l of this.listeners) {
      try {
        l(events, main);
      } catch (e) {
        this.log.error("mvcc: commit listener threw", { error: (e as Error).message });
      }
    }
  }

  /**
   * Puts' events carry the key's previous value (`prevKv`) until the returned release is called (etcd's put reads
   * none: the lease a write detaches is the lessor's, and `history({ prevKv })` reads what an event lacks).
   */
  retainPrevKv(): () => void {
    this.prevKvConsumers++;
    let held = true;
    return () => {
      if (held) this.prevKvConsumers--;
      held = false;
    };
  }

  /** Subscribe to committed write transactions (events in sub-revision order). */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // ---------------------------------------------------------------- compaction

  /**
   * Compact history up to `rev` (etcd's store.Compact): rev <= compacted -> ErrCompacted,
   * rev > current -> ErrFutureRev (both thrown; after ErrCompacted the caller of a physical
   * compaction may await compactionBarrier(), as etcd does). Reads below `rev` fail from now on.
   * The physical work (index, then backend rows in batches of compactionBatchLimit, yielding to
   * the event loop between batches) runs in the background, after earlier compactions; `done`
   * resolves when it is finished and committed.
   */
  compact(consistentIndex: number, rev: number, term?: number): { done: Promise<void> } {
    this.checkOpen();
    if (rev <= this.compactMainRev) {
      this.ci.save(consistentIndex, term);
      throw ErrCompacted;
    }
    if (rev > this.currentRev) {
      this.ci.save(consistentIndex, term);
      throw ErrFutureRev;
    }
    this.compactMainRev = rev;
    this.meta.put(META_SCHEDULED_COMPACT, revToBytes(rev, 0));
    this.ci.save(consistentIndex, term);
    return { done: this.scheduleCompaction(rev) };
  }

  /** Resolves when every compaction scheduled so far has finished (etcd's compactBarrier). */
  compactionBarrier(): Promise<void> {
    return this.fifo;
  }

  private schedule<T>(job: () => Promise<T>): Promise<T> {
    const run = this.fifo.then(job);
    this.fifo = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private scheduleCompaction(rev: number): Promise<void> {
    const done = this.schedule(() => compactHistory(this.compactionTarget, rev));
    done.catch((e: unknown) => {
      if (!(e instanceof StoreClosedError)) this.log.error("mvcc: compaction failed", { rev, error: (e as Error).message });
    });
    return done;
  }

  // ---------------------------------------------------------------- hash

  /**
   * etcd's HashByRev (see hash.ts), byte-identical to etcd's for the same history. rev 0: current.
   * Synchronous. Reads the whole key bucket: meant for the occasional corruption check, not the hot path.
   */
  hashKV(rev: number): { hash: number; compactRevision: number; rev: number } {
    this.checkOpen();
    const compactRev = this.compactMainRev;
    const currentRev = this.currentRev;
    if (rev > 0 && rev <= compactRev) throw ErrCompacted;
    if (rev > 0 && rev > currentRev) throw ErrFutureRev;
    if (rev === 0) rev = currentRev;
    return { hash: hashByRev(this.keys, this.index, this.pending, compactRev, rev), compactRevision: compactRev, rev: currentRev };
  }

  // ---------------------------------------------------------------- history (for watch)

  /**
   * Events of revisions [fromRev, toRev] in revision order, read from history (for watchers
   * catching up). Revisions below the compacted revision may be partly gone: check
   * compactedRevision() first. With `prevKv`, each event carries the key's previous value.
   * Stops after the revision during which `limit` events were reached (0: no limit).
   */
  history(fromRev: number, toRev: number, opts: { prevKv?: boolean; limit?: number } = {}): Event[] {
    this.checkOpen();
    const out: Event[] = [];
    const limit = opts.limit ?? 0;
    const to = Math.min(toRev, this.currentRev);
    let main = Math.max(fromRev, 1);
    // committed rows first, then the pending overlay (pending mains are always the newest)
    const firstPending = this.pending.firstMain();
    if (main < firstPending && main <= to) {
      const complete = committedEvents(this.keys, main, Math.min(to, firstPending - 1), limit, out, (ev, m) => this.withPrev(ev, m, opts.prevKv));
      if (!complete) return out;
      main = firstPending;
    }
    for (; main <= to; main++) {
      if (limit > 0 && out.length >= limit) return out;
      const evs = this.pending.get(main);
      if (!evs) continue;
      for (const ev of evs) {
        if (!opts.prevKv) out.push(ev.prevKv ? { type: ev.type, kv: ev.kv } : ev);
        // a put committed while nobody wanted previous values carries none: read it as for committed rows
        else out.push(ev.prevKv || ev.type !== EventType.Put ? ev : this.withPrev(ev, main, true));
      }
    }
    return out;
  }

  private withPrev(ev: Event, main: number, want: boolean | undefined): Event {
    if (!want || main - 1 < this.compactMainRev) return ev;
    const r = this.index.get(keyString(ev.kv.key), main - 1);
    if (!r) return ev;
    return { ...ev, prevKv: this.readKv(r.main, r.sub) };
  }

  // ---------------------------------------------------------------- open / restore / close

  private restore(): void {
    this.ci.load();
    const finished = this.meta.get(META_FINISHED_COMPACT);
    const scheduledRaw = this.meta.get(META_SCHEDULED_COMPACT);
    this.compactMainRev = finished ? bytesToMain(finished) : -1;
    let scheduled = scheduledRaw ? bytesToMain(scheduledRaw) : 0;

    const { index, currentRev, keyToLease } = rebuildIndex(this.keys);
    this.index = index;
    this.currentRev = Math.max(currentRev, this.compactMainRev);
    this.pending.clear();
    if (scheduled <= this.compactMainRev) scheduled = 0;
    if (this.leases) for (const { lease, key } of keyToLease.values()) this.leases.attach(lease, key);
    this.log.info("mvcc: restored", {
      currentRevision: this.currentRev,
      compactRevision: this.compactMainRev,
      consistentIndex: this.ci.index,
      keys: this.index.size,
    });
    if (scheduled !== 0) {
      this.log.info("mvcc: resume scheduled compaction", { scheduledCompactRevision: scheduled });
      this.compactMainRev = scheduled;
      void this.scheduleCompaction(scheduled);
    }
  }

  /**
   * Replace the whole state with a backend snapshot file (made by Backend.backup, e.g. received
   * from the leader; `move`: rename it in, see Backend.restoreFrom): stops compactions, swaps the
   * backend file, rebuilds everything. Listeners
   * stay subscribed; lease hooks are re-attached from the restored keys.
   */
  async restoreFrom(snapshotFile: string, opts: { move?: boolean } = {}): Promise<void> {
    this.checkOpen();
    this.stopping = true;
    await this.fifo;
    await this.backend.restoreFrom(snapshotFile, opts);
    this.stopping = false;
    this.restore();
  }

  /**
   * Defragments the backend (Backend.defrag) once the compactions scheduled before have finished,
   * so that the space they free is given back. Writes go on meanwhile, held by the backend.
   */
  defrag(): Promise<{ before: number; after: number }> {
    this.checkOpen();
    return this.schedule(() => this.backend.defrag());
  }

  /** Stop background compaction (it resumes at next open) and wait for it. Leaves the backend open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.ci.flushPending();
    this.stopping = true;
    this.closed = true;
    await this.fifo;
    this.unsubscribeBackend();
    this.listeners.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}
