/**
 * etcd-ts's backend: ONE lmdb environment (a single file, etcd's `<data-dir>/member/snap/db`)
 * holding named databases ("buckets"), behind a deliberately narrow interface.
 *
 * Write model (see README.md beside this file):
 * - every write is queued with lmdb-js's asynchronous batching: all writes issued in the same
 *   event-loop turn are committed in ONE lmdb transaction, in issue order, on lmdb-js's writer
 *   thread. Callers that need several writes to be atomic (the MVCC store: a revision's KV rows
 *   and the consistent index) simply issue them synchronously, one after the other.
 * - nothing in this process may use lmdb-js's synchronous writes (putSync/transactionSync) on the
 *   environment while it is open: those split an event-turn batch and would break that guarantee.
 * - writes are visible to `get` only once committed; callers keep their own overlay of what they
 *   wrote but is not yet committed (the MVCC store does), tracked through batch numbers.
 * - a commit is durable once `flush()` resolves (lmdb-js `overlappingSync`: commits do not wait
 *   for fsync; the fsync runs behind them).
 */
import { open, type Database, type RootDatabase } from "lmdb";
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { HeldWrites } from "./held-writes.js";
import { BackendFailedError, commitFailure } from "./errors.js";
import { removeDefragLeftovers } from "./defrag-leftovers.js";
import { fsyncPathSync as fsyncFile } from "../util/fsync.js";

export { BackendFailedError } from "./errors.js";
import { failpoint, failpointError } from "../util/failpoint.js";
import { ensurePrivateFile, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "../util/file-modes.js";

export interface BackendLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const noopLogger: BackendLogger = { info() {}, warn() {}, error() {} };

export interface BackendOptions {
  /** Virtual address space reserved for the map (not disk). Default 8 GiB; lmdb-js grows it if needed. */
  readonly mapSize?: number;
  /** Max named buckets (default 32). */
  readonly maxBuckets?: number;
  /**
   * Hold writes this long before handing them to lmdb as one transaction (etcd's backend batch
   * interval, 100 ms there). 0 (the default) hands each event turn's writes over at once.
   */
  readonly batchIntervalMs?: number;
  /** With batchIntervalMs: hand the held writes over as soon as this many are held (default 10,000, etcd's batch limit). */
  readonly batchLimit?: number;
  readonly logger?: BackendLogger;
}

/** Names etcd uses for its bolt buckets; others may be opened freely. */
export const BUCKET_KEY = "key";
export const BUCKET_META = "meta";

/** etcd's path of the backend file inside a data dir. */
export function backendPath(dataDir: string): string {
  return join(dataDir, "member", "snap", "db");
}

type Db = Database<Buffer, Buffer>;

type LmdbOptions = Parameters<typeof open<Buffer, Buffer>>[0] & { readonly permissionsMode: number };

/**
 * A named database. Keys and values are raw bytes, ordered bytewise (memcmp).
 * `put`/`remove` are queued (see the module comment) and return the number of the batch
 * they joined; `get`, `getRange` and `keys` read committed data only.
 */
export class Bucket {
  /** @internal replaced when the environment is reopened (restore). */
  db: Db;
  constructor(
    private readonly backend: Backend,
    readonly name: string,
    db: Db,
  ) {
    this.db = db;
  }

  /** Committed value of `key` (a private copy), or undefined. */
  get(key: Buffer): Buffer | undefined {
    return this.db.getBinary(key) ?? undefined;
  }

  /**
   * Committed value of `key` in a buffer that lmdb-js reuses: valid only until the next read
   * on this environment. Copy what you keep.
   */
  getVolatile(key: Buffer): Buffer | undefined {
    return this.db.getBinaryFast(key) ?? undefined;
  }

  /** Queue a write; returns the batch number it joined. `value` must not be mutated afterwards. */
  put(key: Buffer, value: Buffer): number {
    return this.backend.write(this, key, value);
  }

  /** Queue a delete; returns the batch number it joined. */
  remove(key: Buffer): number {
    return this.backend.write(this, key, undefined);
  }

  /** Committed entries with start <= key < end (either bound optional), in key order. */
  *getRange(opts: { start?: Buffer; end?: Buffer; limit?: number; reverse?: boolean } = {}): Generator<{ key: Buffer; value: Buffer }> {
    for (const { key, value } of this.db.getRange(opts)) yield { key: key as Buffer, value: value as Buffer };
  }

  /** Committed keys with start <= key < end, in key order. */
  keys(opts: { start?: Buffer; end?: Buffer; limit?: number } = {}): Buffer[] {
    const out: Buffer[] = [];
    for (const k of this.db.getKeys(opts)) out.push(k as Buffer);
    return out;
  }

  /** Pages used by this bucket's B+tree (for sizeInUse). */
  pages(): number {
    const s = this.db.getStats() as { treeBranchPageCount?: number; treeLeafPageCount?: number; overflowPages?: number };
    return (s.treeBranchPageCount ?? 0) + (s.treeLeafPageCount ?? 0) + (s.overflowPages ?? 0);
  }
}

export class Backend {
  private env!: RootDatabase<Buffer, Buffer>;
  private readonly buckets = new Map<string, Bucket>();
  private readonly log: BackendLogger;
  private lastPromise: Promise<unknown> | undefined;
  private issued = 0;
  private committedBatch = 0;
  private readonly commitListeners = new Set<(batch: number) => void>();
  private readonly failureListeners = new Set<(err: Error) => void>();
  private failure: Error | undefined;
  private failureReported = false;
  private cachedSize = -1;
  private isClosed = false;
  /** Writes held for the next batch (batchIntervalMs > 0), in issue order. */
  private pending: Array<{ bucket: Bucket; key: Buffer; value: Buffer | undefined }> = [];
  private heldTimer: NodeJS.Timeout | undefined;
  private heldImmediate: NodeJS.Immediate | undefined;
  /** While a defragmentation runs: the writes held back until it ends (held-writes.ts). */
  private defragHeld: HeldWrites | undefined;
  /** The lock file of the open environment (`<file>-lock` of the name it was opened under). */
  private lockPath: string;
  private defrags = 0;

  private constructor(
    /** The lmdb file (etcd's `member/snap/db`); lmdb keeps its lock file at `<path>-lock`. */
    readonly path: string,
    private readonly opts: BackendOptions,
  ) {
    this.log = opts.logger ?? noopLogger;
    this.lockPath = `${path}-lock`;
    removeDefragLeftovers(path);
    this.openEnv();
  }

  /**
   * Open (creating if needed) the backend file at `path`: for a member, etcd's
   * `<data-dir>/member/snap/db` (see backendPath); any path for snapshots, tools and tests.
   */
  static open(path: string, opts: BackendOptions = {}): Backend {
    mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
    return new Backend(path, opts);
  }

  /** Opens the environment in `file` (the backend's path, or a defragmented copy about to be renamed to it). */
  private openEnv(file: string = this.path): void {
    // A file of an older version (0644) is narrowed; lmdb creates new ones with permissionsMode.
    for (const f of [file, `${file}-lock`]) ensurePrivateFile(f, this.log);
    const options: LmdbOptions = {
      path: file,
      noSubdir: true,
      // Read by lmdb-js's native open (mdb_env_open's mode, default 0664) but missing from its typings.
      permissionsMode: PRIVATE_FILE_MODE,
      maxDbs: this.opts.maxBuckets ?? 32,
      mapSize: this.opts.mapSize ?? 8 * 1024 * 1024 * 1024,
      overlappingSync: true,
      encoding: "binary",
      keyEncoding: "binary",
      // Never let lmdb-js commit part of an event turn's writes: atomicity of a revision relies on it.
      eventTurnBatching: true,
    };
    this.env = open<Buffer, Buffer>(options);
    this.lockPath = `${file}-lock`;
    for (const [name, b] of this.buckets) b.db = this.openDb(name);
    this.cachedSize = -1;
  }

  private openDb(name: string): Db {
    return this.env.openDB<Buffer, Buffer>({ name, encoding: "binary", keyEncoding: "binary" });
  }

  /** The named bucket, created on first use. */
  bucket(name: string): Bucket {
    this.checkOpen();
    let b = this.buckets.get(name);
    if (!b) {
      b = new Bucket(this, name, this.openDb(name));
      this.buckets.set(name, b);
    }
    return b;
  }

  /** The names of the buckets in the file (opened or not), in bytewise order, as bolt lists its buckets. */
  bucketNames(): string[] {
    this.checkOpen();
    const names: Buffer[] = [];
    // lmdb keeps each named database as a key of its root database, NUL-terminated by lmdb-js
    for (const k of this.env.getKeys()) {
      const raw = Buffer.isBuffer(k) ? k : Buffer.from(String(k));
      names.push(raw.length > 0 && raw[raw.length - 1] === 0 ? raw.subarray(0, -1) : raw);
    }
    return names.sort(Buffer.compare).map((n) => n.toString("utf8"));
  }

  /** @internal A bucket's put (value) or remove (undefined): to lmdb now, held for the next batch, or held while a defragmentation runs. */
  write(bucket: Bucket, key: Buffer, value: Buffer | undefined): number {
    if (this.defragHeld) {
      if (this.failure) throw new BackendFailedError(`backend failed earlier: ${this.failure.message}`);
      return this.defragHeld.hold((k, v) => (v === undefined ? bucket.db.remove(k) : bucket.db.put(k, v)), key, value);
    }
    const interval = this.opts.batchIntervalMs ?? 0;
    if (interval <= 0) return this.track(value === undefined ? bucket.db.remove(key) : bucket.db.put(key, value));
    if (this.failure) throw new BackendFailedError(`backend failed earlier: ${this.failure.message}`);
    this.pending.push({ bucket, key: Buffer.from(key), value }); // callers reuse key buffers; values are never mutated
    // at the limit: released at the end of this turn, never in the middle of a caller's run of writes
    if (this.pending.length >= (this.opts.batchLimit ?? 10_000)) {
      if (!this.heldImmediate) this.heldImmediate = setImmediate(() => this.release());
    } else this.heldTimer ??= setTimeout(() => this.release(), interval);
    return this.issued + 1; // the batch release() will make
  }

  /**
   * Hands every held write to lmdb in this turn, so they commit as ONE transaction (eventTurnBatching),
   * in issue order: a revision's rows and the consistent index stay atomic as before.
   */
  private release(): void {
    if (this.heldTimer) clearTimeout(this.heldTimer);
    if (this.heldImmediate) clearImmediate(this.heldImmediate);
    this.heldTimer = undefined;
    this.heldImmediate = undefined;
    const held = this.pending;
    if (held.length === 0) return;
    this.pending = [];
    // After a failed commit nothing more reaches the file (write() refuses new writes already); the
    // member stops, and the WAL still holds what these writes applied. Throwing here would be an
    // uncaught exception in a timer.
    if (this.failure) return;
    let p: Promise<unknown> | undefined;
    for (const w of held) p = w.value === undefined ? w.bucket.db.remove(w.key) : w.bucket.db.put(w.key, w.value);
    this.track(p!);
  }

  /** @internal Batch bookkeeping for a queued write's commit promise. */
  track(p: Promise<unknown>): number {
    if (this.failure) {
      p.catch(() => undefined); // the write was queued all the same; its rejection is this failure again
      throw new BackendFailedError(`backend failed earlier: ${this.failure.message}`);
    }
    if (p !== this.lastPromise) {
      this.lastPromise = p;
      const batch = ++this.issued;
      p.then(
        () => {
          // Test-only: a commit that "failed" (the data did commit; what is tested is the reaction).
          const injected = failpointError("backendCommit");
          if (injected) this.onBatchFailed(batch, injected);
          else this.onBatchCommitted(batch);
        },
        (err: unknown) => this.onBatchFailed(batch, err),
      );
    }
    return this.issued;
  }

  private onBatchCommitted(batch: number): void {
    if (batch > this.committedBatch) this.committedBatch = batch;
    this.cachedSize = -1;
    for (const l of this.commitListeners) l(batch);
  }

  private onBatchFailed(batch: number, err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    // lmdb-js rejects with "Commit failed (see commitError for details)" and the cause in a
    // promise of its own, which must be handled (an unhandled rejection would kill the process).
    const cause = (err as { commitError?: unknown } | undefined)?.commitError;
    if (cause instanceof Promise) {
      cause.then(
        () => this.fail(batch, e),
        (c: unknown) => this.fail(batch, commitFailure(e, c)),
      );
      this.failure ??= e; // refuse further writes at once
      return;
    }
    this.fail(batch, e);
  }

  private fail(batch: number, e: Error): void {
    if (this.failureReported) return;
    this.failureReported = true;
    this.failure = e;
    this.log.error("backend batch commit failed; refusing further writes", { batch, error: e.message });
    for (const l of this.failureListeners) l(e);
  }

  /**
   * Called once, with the error, when a batch fails to commit (ENOSPC, EIO, a full map): memory is
   * then ahead of disk, and the owner must stop (the WAL still holds everything applied).
   */
  onFailure(listener: (err: Error) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** Number of the last batch a write joined (0: none yet). */
  lastIssuedBatch(): number {
    return this.pending.length > 0 ? this.issued + 1 : this.issued;
  }

  /** Number of the last batch known committed (visible to reads). Batches commit in order. */
  lastCommittedBatch(): number {
    return this.committedBatch;
  }

  /** Called (in order) with each batch number as it commits. Returns an unsubscribe function. */
  onBatchCommit(listener: (batch: number) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** The first commit failure, if any (then every further write throws BackendFailedError). */
  failed(): Error | undefined {
    return this.failure;
  }

  /** Resolves once every write queued so far is committed (visible to reads, maybe not yet fsynced). */
  async committed(): Promise<void> {
    // Held writes are released at the start of a later macrotask, never from inside the caller's: the
    // MVCC store writes the consistent index from a microtask queued after a turn's rows, and a
    // release before that microtask would commit rows without the index that covers them.
    if (this.pending.length > 0) await new Promise<void>((resolve) => setImmediate(() => resolve(this.release())));
    const p = this.lastPromise;
    if (p) await p;
    if (this.failure) throw this.failure;
  }

  /**
   * Sync barrier: resolves once every write queued so far is committed AND fsynced. After it,
   * the WAL entries those writes cover may be released.
   */
  async flush(): Promise<void> {
    await this.committed();
    await this.env.flushed;
  }

  /** Size of the backend file in bytes (etcd's db size: what the quota is checked against). */
  size(): number {
    if (this.cachedSize < 0) {
      try {
        this.cachedSize = statSync(this.path).size;
      } catch {
        this.cachedSize = 0;
      }
    }
    return this.cachedSize;
  }

  /** Bytes of pages in use by live B+trees (etcd's dbSizeInUse, approximately). */
  sizeInUse(): number {
    const st = this.env.getStats() as { pageSize: number; treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number };
    let pages = 2 + st.treeBranchPageCount + st.treeLeafPageCount + st.overflowPages; // 2 meta pages + root db
    for (const b of this.buckets.values()) pages += b.pages();
    return Math.min(pages * st.pageSize, this.size());
  }

  /**
   * Write a consistent copy of the whole environment to `toFile` (a single lmdb file, openable
   * with Backend.open or usable with restoreFrom). It contains at least every write queued
   * before the call (it waits for their commit), possibly later ones too: whatever it holds is
   * self-consistent, and its meta bucket says which raft index it covers. With `compact` the copy
   * leaves out free pages (lmdb's MDB_CP_COMPACT): smaller, and its pages renumbered.
   */
  async backup(toFile: string, opts: { compact?: boolean } = {}): Promise<void> {
    this.checkOpen();
    await this.committed();
    rmSync(toFile, { force: true });
    await this.env.backup(toFile, opts.compact ?? false);
    chmodSync(toFile, PRIVATE_FILE_MODE); // lmdb's copy is created 0644
    fsyncFile(toFile);
  }

  /**
   * Replace the whole backend with the copy in `fromFile` (made by backup): closes the
   * environment after pending writes commit, swaps the file in atomically and reopens. With
   * `move` the file itself is renamed over the backend (etcd's openSnapshotBackend: a received
   * snapshot database, which must be on the same filesystem); otherwise it is copied beside the
   * backend and fsynced first. Either way the directory is fsynced after the rename, so the swap
   * survives a power loss. Buckets obtained before stay valid. Callers rebuild their in-memory state.
   */
  async restoreFrom(fromFile: string, opts: { move?: boolean } = {}): Promise<void> {
    this.checkOpen();
    if (this.defragHeld) throw new Error("restore: a defragmentation is running");
    if (!existsSync(fromFile)) throw new Error(`restore: no such file ${fromFile}`);
    await this.flush().catch(() => undefined);
    await this.env.close();
    let source = fromFile;
    if (!opts.move) {
      source = `${this.path}.restore-tmp`;
      copyFileSync(fromFile, source);
      fsyncFile(source);
    }
    chmodSync(source, PRIVATE_FILE_MODE); // a copy, or a received file, keeps the mode it was made with
    renameSync(source, this.path);
    fsyncFile(dirname(this.path));
    failpoint("backendAfterRename");
    for (const f of new Set([this.lockPath, `${this.path}-lock`])) rmSync(f, { force: true });
    this.lastPromise = undefined;
    this.failure = undefined;
    this.failureReported = false;
    this.openEnv();
    this.log.info("backend restored from snapshot", { from: fromFile, path: this.path, moved: !!opts.move });
  }

  /** Wait for pending writes to be durable, then close the environment. Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    try {
      await this.flush();
    } catch (e) {
      this.log.warn("closing backend after a failed commit", { error: (e as Error).message });
    }
    await this.env.close();
    if (this.lockPath !== `${this.path}-lock`) rmSync(this.lockPath, { force: true });
  }

  /**
   * etcd's Defrag: rewrites the backend without its free pages and gives the space back to the file
   * system. Writes issued meanwhile are held and committed to the new file after it (held-writes.ts);
   * reads go on against the old file, which holds the same data, until the switch, which is
   * synchronous: a reader never finds the environment closed. Steps: (1) hold writes, wait for the
   * earlier ones to commit; (2) compacting copy to `<db>.defrag-N`, fsynced; (3) open it, point the
   * buckets at it, rename it over the backend, fsync the directory; (4) release the held writes;
   * (5) close the old environment. A crash before (3)'s rename leaves the old file whole (the copy is
   * removed at the next open); after it, the new file is whole. Returns the file sizes before and after.
   */
  async defrag(): Promise<{ before: number; after: number }> {
    this.checkOpen();
    if (this.defragHeld) throw new Error("a defragmentation is already running");
    // writes held for the next batch go to the old file first, from a macrotask of their own (committed())
    if (this.pending.length > 0) await new Promise<void>((resolve) => setImmediate(() => resolve(this.release())));
    if (this.defragHeld) throw new Error("a defragmentation is already running");
    const before = this.size();
    const earlier = this.lastPromise;
    const held = (this.defragHeld = new HeldWrites(++this.issued));
    this.lastPromise = held.done;
    const copy = `${this.path}.defrag-${++this.defrags}`;
    const oldEnv = this.env;
    const oldLock = this.lockPath;
    try {
      await earlier;
      if (this.failure) throw this.failure;
      rmSync(copy, { force: true });
      await oldEnv.backup(copy, true);
      chmodSync(copy, PRIVATE_FILE_MODE);
      fsyncFile(copy);
      this.openEnv(copy);
    } catch (e) {
      rmSync(copy, { force: true });
      this.releaseHeld(held);
      throw e;
    }
    renameSync(copy, this.path);
    fsyncFile(dirname(this.path));
    this.cachedSize = -1;
    this.releaseHeld(held);
    await oldEnv.close();
    rmSync(oldLock, { force: true });
    return { before, after: this.size() };
  }

  private releaseHeld(held: HeldWrites): void {
    this.defragHeld = undefined;
    held.release(
      () => this.onBatchCommitted(held.batch),
      (err) => this.onBatchFailed(held.batch, err),
    );
  }

  isOpen(): boolean {
    return !this.isClosed;
  }

  private checkOpen(): void {
    if (this.isClosed) throw new Error("backend is closed");
  }
}
