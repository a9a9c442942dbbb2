/**
 * The write-ahead log: a directory of segment files `%016x-%016x.wal` (sequence, first index),
 * each a run of checksummed records (record.ts; byte layout in README.md). Modelled on etcd's
 * wal package (Create / Open+ReadAll / Save / SaveSnapshot / ReleaseLockTo+purge / repair);
 * the code and the on-disk format are etcd-ts's own. Decoding is in reader.ts (no I/O).
 *
 * All operations of one Wal run one at a time, in call order (an internal queue); save() issues
 * one positional write of a single buffer holding all its records, then one fdatasync when
 * mustSync (an unsynced save of only a new commit index writes nothing: it is held for the next
 * write, see README). A small save (inlineIoMaxBytes) makes its calls synchronously on the event
 * loop; every other write and sync runs on the libuv thread pool, so the loop keeps serving.
 */
import { fdatasyncSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { Entry, HardState } from "../raft/types.js";
import { hitFailpoint } from "../util/failpoint.js";
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "../util/file-modes.js";
import { datasync, ensurePrivate, fsyncDir, repairTornTail, writeFully, writeFullySync } from "./file-io.js";
import { DirLock } from "./lock.js";
import { validSnapshotEntries, walExists } from "./inspect.js";
import type { WalLogger } from "./logger.js";
import { LogReader, type WalMetadata, type WalSnapshot } from "./reader.js";
import {
  ENTRY_FIXED_BODY,
  FLAG_DURABLE_BEFORE,
  HARDSTATE_BODY,
  MAX_RECORD_BODY,
  SNAPSHOT_BODY,
  WalError,
  frameSize,
  putEntry,
  putHardState,
  putSnapshot,
  segmentHead,
} from "./record.js";
import { checkSequence, listSegments, segmentName, type Segment } from "./segments.js";

export { WalError } from "./record.js";

export type { WalMetadata, WalSnapshot } from "./reader.js";
export { segmentName, parseSegmentName } from "./segments.js";

export type { WalLogger } from "./logger.js";

export interface WalOptions {
  /** Cut a new segment once the current one has reached this many bytes (default 64 MiB). */
  readonly segmentSizeBytes?: number;
  /** etcd's --max-wals: how many segment files releaseTo() retains (default 5; 0 = unlimited, never delete). */
  readonly maxWals?: number;
  /** Warn when one fdatasync takes longer than this (default 1000 ms, etcd's warnSyncDuration). */
  readonly warnSyncMs?: number;
  /**
   * A save of at most this many bytes is written (and fdatasynced, when it must be) inline, blocking
   * the event loop for one disk flush, instead of through the thread pool: that removes two
   * thread-pool round trips from the write, which cost more than the loop could do during the flush
   * (README, "Inline I/O"); larger batches stay async so request processing overlaps
   * the flush. Default 64 KiB; 0 disables.
   */
  readonly inlineIoMaxBytes?: number;
}

/** What Wal.open returns. */
export interface WalOpened {
  readonly wal: Wal;
  readonly metadata: WalMetadata;
  readonly hardState: HardState;
  /** The live entries after the snapshot opened from. */
  readonly entries: Entry[];
  /** Set when a torn tail was cut off the last segment: where, and how many bytes. */
  readonly repaired?: { readonly file: string; readonly offset: number; readonly cutBytes: number };
}

export const DEFAULT_SEGMENT_SIZE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_WALS = 5;

const INITIAL_SCRATCH = 64 * 1024;
/** save() buffers up to this size are kept for reuse; larger ones are allocated per call. */
const MAX_SCRATCH = 16 * 1024 * 1024;

function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0n && hs.commit === 0;
}

export class Wal {
  private readonly segmentSize: number;
  private readonly maxWals: number;
  private readonly warnSyncMs: number;
  private readonly inlineIoMaxBytes: number;
  private scratch = Buffer.allocUnsafeSlow(INITIAL_SCRATCH);
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether every byte written so far has been fdatasynced (then the next write sets FLAG_DURABLE_BEFORE). */
  private durable = true;
  /**
   * A hard state that differs from the last one written only in its commit index, saved unsynced:
   * held here and written with the next write instead of by a write of its own (etcd's WAL encoder
   * buffers it the same way). It may be lost with the process; what it says is learned again.
   */
  private heldState: HardState | undefined;
  private failed: unknown;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly metadata: WalMetadata,
    private readonly logger: WalLogger | undefined,
    options: WalOptions,
    private readonly lock: DirLock,
    /** Every segment on disk, oldest first; the last one is the tail. */
    private readonly segments: Segment[],
    private tail: FileHandle,
    private tailOffset: number,
    /** Running crc after the last record written. */
    private crc: number,
    /** Index of the last entry written (or of a later snapshot marker). */
    private enti: number,
    /** The last non-empty hard state written: repeated at the head of every new segment. */
    private state: HardState,
    /** Indexes of snapshot markers known to be in the segments on disk. */
    private markers: number[],
  ) {
    this.segmentSize = options.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES;
    this.maxWals = options.maxWals ?? DEFAULT_MAX_WALS;
    this.warnSyncMs = options.warnSyncMs ?? 1000;
    this.inlineIoMaxBytes = options.inlineIoMaxBytes ?? 64 * 1024;
    if (!(this.segmentSize > 0) || !(this.maxWals >= 0)) throw new WalError("wal: bad options", "EARG");
  }

  /** True when `dir` holds at least one WAL segment (inspect.ts). */
  static readonly exists = walExists;

  /**
   * Creates a WAL in `dir` (which must not hold one): the first segment, holding the metadata and
   * the snapshot marker {0,0}, is written and synced in `dir`.tmp, which is then renamed to `dir`
   * (a `dir` without segments is replaced, as etcd does) and the parent directory synced.
   */
  static async create(dir: string, metadata: WalMetadata, logger?: WalLogger, options: WalOptions = {}): Promise<Wal> {
    if (Wal.exists(dir)) throw new WalError(`wal: ${dir} already holds a WAL`, "EEXIST");
    const abs = resolve(dir);
    const tmp = `${abs}.tmp`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true, mode: PRIVATE_DIR_MODE });
    const name = segmentName(0, 0);
    const { buf: head, crc } = segmentHead(0, metadata.memberId, metadata.clusterId, "snapshot");
    const fh = await open(join(tmp, name), "w", PRIVATE_FILE_MODE);
    try {
      await writeFully(fh, head, head.length, 0);
      await datasync(fh);
    } finally {
      await fh.close();
    }
    await fsyncDir(tmp);
    await rm(abs, { recursive: true, force: true });
    await rename(tmp, abs);
    await fsyncDir(dirname(abs));
    const lock = await DirLock.acquire(dir, logger);
    try {
      const tail = await open(join(dir, name), "r+");
      logger?.info(`wal: created ${join(dir, name)}`, { dir, segment: name });
      return new Wal(dir, metadata, logger, options, lock, [{ seq: 0, index: 0, name }], tail, head.length, crc, 0, { term: 0, vote: 0n, commit: 0 }, [0]);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /**
   * Opens the WAL for appending after reading every record from the segment that covers
   * `from.index` on: returns the metadata, the last hard state and the live entries with index
   * > from.index (a later entry with an index already seen replaces it and everything after it).
   * The snapshot marker `from` must be found (a marker at from.index with another term is an
   * error). A torn tail of the last segment is logged and truncated; any other damage throws.
   */
  static async open(
    dir: string,
    from: WalSnapshot,
    logger?: WalLogger,
    options: WalOptions = {},
  ): Promise<WalOpened> {
    const lock = await DirLock.acquire(dir, logger);
    let tail: FileHandle | undefined;
    try {
      const tmpNames: string[] = [];
      const all = await listSegments(dir, logger, tmpNames);
      for (const t of tmpNames) {
        // A segment cut interrupted before its rename: never part of the log.
        logger?.warn(`wal: removing unfinished segment ${join(dir, t)}`, { path: join(dir, t) });
        await unlink(join(dir, t));
      }
      if (all.length === 0) throw new WalError(`wal: no WAL segment in ${dir}`, "ENOTFOUND");
      let start = -1;
      for (let i = all.length - 1; i >= 0; i--) {
        if (all[i]!.index <= from.index) {
          start = i;
          break;
        }
      }
      if (start < 0) {
        throw new WalError(
          `wal: no segment in ${dir} covers snapshot index ${from.index} (the oldest starts at ${all[0]!.index})`,
          "ENOTFOUND",
        );
      }
      const segs = all.slice(start);
      checkSequence(dir, segs);

      const reader = new LogReader(from, Math.max(all[all.length - 1]!.index - 1, from.index, 0));
      let repaired: WalOpened["repaired"];
      for (let i = 0; i < segs.length; i++) {
        const file = join(dir, segs[i]!.name);
        await ensurePrivate(file, logger);
        const buf = await readFile(file);
        reader.segment(file, buf, i === segs.length - 1);
        if (reader.torn) {
          await repairTornTail(file, buf, reader.torn, logger);
          repaired = { file, offset: reader.torn.offset, cutBytes: buf.length - reader.torn.offset };
        }
      }
      const { metadata, hardState, entries } = reader.finish(dir);
      tail = await open(join(dir, all[all.length - 1]!.name), "r+");
      // What was read may still be only in the page cache (a kill -9): sync it, so that the next
      // write's FLAG_DURABLE_BEFORE tells the truth.
      await datasync(tail);
      const wal = new Wal(dir, metadata, logger, options, lock, all, tail, reader.validEnd, reader.crc, reader.enti, hardState, reader.markers);
      return { wal, metadata, hardState, entries, ...(repaired ? { repaired } : {}) };
    } catch (err) {
      await tail?.close();
      await lock.release();
      throw err;
    }
  }

  /** The snapshot markers a start-up may trust: at or below the last commit index written (inspect.ts). */
  static readonly validSnapshotEntries = validSnapshotEntries;

  /**
   * Appends `entries` then `hardState` (skipped when undefined or empty) in one write; fdatasync before
   * resolving when mustSync.
   */
  save(hardState: HardState | undefined, entries: readonly Entry[], mustSync: boolean): Promise<void> {
    return this.run(async () => {
      let hs = hardState && !isEmptyHardState(hardState) ? hardState : undefined;
      if (hs && entries.length === 0 && !mustSync && hs.term === this.state.term && hs.vote === this.state.vote) {
        // Only the commit index moved: a write of its own per commit cost every member a syscall per put.
        this.heldState = hs;
        return;
      }
      hs ??= this.heldState;
      this.heldState = undefined;
      if (!hs && entries.length === 0) {
        if (mustSync) await this.syncTail();
        return;
      }
      let size = 0;
      for (let i = 0; i < entries.length; i++) {
        const bodyLen = ENTRY_FIXED_BODY + entries[i]!.data.length;
        if (bodyLen > MAX_RECORD_BODY) throw new WalError(`wal: entry ${entries[i]!.index} is too large (${bodyLen} bytes)`, "EARG");
        size += frameSize(bodyLen);
      }
      if (hs) size += frameSize(HARDSTATE_BODY);
      const buf = this.buffer(size);
      let off = 0;
      let crc = this.crc;
      // The first frame of a write says whether everything before it was synced (a repair must not cut it).
      let flags = this.durable ? FLAG_DURABLE_BEFORE : 0;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        crc = putEntry(buf, off, e, crc, flags);
        flags = 0;
        off += frameSize(ENTRY_FIXED_BODY + e.data.length);
      }
      if (hs) crc = putHardState(buf, off, hs, crc, flags);
      await this.io(async () => {
        if (size <= this.inlineIoMaxBytes && this.tailOffset + size < this.segmentSize) {
          // Two thread-pool round trips cost more than what the loop could do during the flush (README).
          // An unsynced save (a hard state whose commit index moved) is a write into the page cache:
          // through the pool it cost more main-thread time (fs/promises) than the pwrite itself.
          const t0 = performance.now();
          this.durable = false;
          writeFullySync(this.tail.fd, buf, size, this.tailOffset);
          if (mustSync) {
            hitFailpoint("walSync");
            fdatasyncSync(this.tail.fd);
            this.durable = true;
            this.noteSync(performance.now() - t0);
          }
          this.tailOffset += size;
          this.crc = crc;
          if (entries.length > 0) this.enti = entries[entries.length - 1]!.index;
          if (hs) this.state = hs;
          return;
        }
        this.durable = false;
        await writeFully(this.tail, buf, size, this.tailOffset);
        this.tailOffset += size;
        this.crc = crc;
        if (entries.length > 0) this.enti = entries[entries.length - 1]!.index;
        if (hs) this.state = hs;
        if (this.tailOffset >= this.segmentSize) await this.cut();
        else if (mustSync) await this.syncTail();
      });
    });
  }

  /** Appends a snapshot marker {index, term} and syncs: open() may then start from this snapshot. */
  saveSnapshot(s: WalSnapshot): Promise<void> {
    return this.run(async () => {
      // A held commit index goes first: the marker must not be durable without the commit that covers it
      // (validSnapshotEntries only trusts markers at or below the last commit index written).
      const held = this.heldState;
      this.heldState = undefined;
      const size = (held ? frameSize(HARDSTATE_BODY) : 0) + frameSize(SNAPSHOT_BODY);
      const buf = this.buffer(size);
      let off = 0;
      let crc = this.crc;
      let flags = this.durable ? FLAG_DURABLE_BEFORE : 0;
      if (held) {
        crc = putHardState(buf, 0, held, crc, flags);
        flags = 0;
        off = frameSize(HARDSTATE_BODY);
      }
      crc = putSnapshot(buf, off, s.index, s.term, crc, flags);
      await this.io(async () => {
        this.durable = false;
        await writeFully(this.tail, buf, size, this.tailOffset);
        this.tailOffset += size;
        this.crc = crc;
        if (held) this.state = held;
        if (this.enti < s.index) this.enti = s.index;
        this.markers.push(s.index);
        await this.syncTail();
      });
    });
  }

  /**
   * Deletes old segments no longer needed to open from the newest snapshot marker at or before
   * `index` (m): every segment before the last one whose name index is <= m (so all its entries are
   * < m, and the segment open(m) starts reading from is kept). Like etcd's purge with --max-wals,
   * it only deletes while more than maxWals segments exist, oldest first; maxWals 0 keeps all.
   */
  releaseTo(index: number): Promise<void> {
    return this.run(async () => {
      let m = -1;
      for (const x of this.markers) if (x <= index && x > m) m = x;
      if (m < 0 || this.maxWals === 0) return;
      let k = -1;
      for (let i = this.segments.length - 1; i >= 0; i--) {
        if (this.segments[i]!.index <= m) {
          k = i;
          break;
        }
      }
      const n = Math.min(k, this.segments.length - this.maxWals);
      if (n > 0) {
        for (let i = 0; i < n; i++) {
          const path = join(this.dir, this.segments[i]!.name);
          try {
            await unlink(path);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
          }
          this.logger?.info(`wal: purged segment ${path}`, { path, releasedTo: m });
        }
        this.segments.splice(0, n);
        await fsyncDir(this.dir);
      }
      this.markers = this.markers.filter((x) => x >= m);
    });
  }

  /** Writes a held commit index (if any) and fdatasyncs the current segment (save(..., true) already does this). */
  sync(): Promise<void> {
    return this.run(() => this.io(async () => {
      await this.writeHeldState();
      await this.syncTail();
    }));
  }

  /** Syncs and closes the tail segment and releases the lock. Further calls fail with ECLOSED. */
  close(): Promise<void> {
    if (this.closed) return this.queue.then(() => undefined);
    const p = this.run(async () => {
      try {
        if (this.failed === undefined) {
          await this.writeHeldState();
          await datasync(this.tail);
        }
      } finally {
        await this.tail.close();
        await this.lock.release();
      }
    }, true);
    this.closed = true;
    return p;
  }

  /** The segment file names on disk that this WAL tracks, oldest first. */
  segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  /** Index of the last entry written (or of a later snapshot marker). */
  get lastIndex(): number {
    return this.enti;
  }

  private run<T>(fn: () => Promise<T>, evenIfFailed = false): Promise<T> {
    if (this.closed) return Promise.reject(new WalError(`wal: ${this.dir} is closed`, "ECLOSED"));
    const p = this.queue.then(() => {
      if (this.failed !== undefined && !evenIfFailed) {
        throw new WalError(`wal: ${this.dir} is unusable after an earlier I/O error: ${String(this.failed)}`, "EFAILED");
      }
      return fn();
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Runs I/O whose failure leaves the file in an unknown state: the WAL refuses all later writes (no retry after a failed fsync). */
  private async io(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.failed = err;
      this.logger?.warn(`wal: I/O error in ${this.dir}, refusing further writes: ${String(err)}`, { dir: this.dir, error: String(err) });
      throw err;
    }
  }

  private buffer(size: number): Buffer {
    if (size <= this.scratch.length) return this.scratch;
    if (size > MAX_SCRATCH) return Buffer.allocUnsafeSlow(size);
    this.scratch = Buffer.allocUnsafeSlow(Math.min(MAX_SCRATCH, Math.max(size, this.scratch.length * 2)));
    return this.scratch;
  }

  /** Writes the held commit index, if any, at the tail (unsynced). */
  private async writeHeldState(): Promise<void> {
    const held = this.heldState;
    if (!held) return;
    this.heldState = undefined;
    const buf = this.buffer(frameSize(HARDSTATE_BODY));
    const crc = putHardState(buf, 0, held, this.crc, this.durable ? FLAG_DURABLE_BEFORE : 0);
    this.durable = false;
    await writeFully(this.tail, buf, frameSize(HARDSTATE_BODY), this.tailOffset);
    this.tailOffset += frameSize(HARDSTATE_BODY);
    this.crc = crc;
    this.state = held;
  }

  private async syncTail(): Promise<void> {
    const t0 = performance.now();
    await datasync(this.tail);
    this.durable = true;
    this.noteSync(performance.now() - t0);
  }

  private noteSync(took: number): void {
    if (took > this.warnSyncMs) this.logger?.warn(`wal: slow fdatasync (${Math.round(took)} ms)`, { tookMs: Math.round(took), expectedMs: this.warnSyncMs });
  }

  /**
   * Starts a new segment: syncs the current one, writes the head of the next (crc, metadata, last
   * hard state) to `<name>.tmp`, syncs it, renames it into place and syncs the directory.
   */
  private async cut(): Promise<void> {
    await this.syncTail();
    const last = this.segments[this.segments.length - 1]!;
    const seg: Segment = { seq: last.seq + 1, index: this.enti + 1, name: segmentName(last.seq + 1, this.enti + 1) };
    const { buf, crc } = segmentHead(this.crc, this.metadata.memberId, this.metadata.clusterId, isEmptyHardState(this.state) ? undefined : this.state);
    const size = buf.length;
    const path = join(this.dir, seg.name);
    const tmp = `${path}.tmp`;
    const h = await open(tmp, "w+", PRIVATE_FILE_MODE);
    try {
      await writeFully(h, buf, size, 0);
      await datasync(h);
      await rename(tmp, path);
      await fsyncDir(this.dir);
    } catch (err) {
      await h.close();
      throw err;
    }
    const old = this.tail;
    this.tail = h;
    this.tailOffset = size;
    this.crc = crc;
    this.segments.push(seg);
    await old.close();
    this.logger?.info(`wal: created segment ${path}`, { path });
  }
}
