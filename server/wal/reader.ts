/**
 * Decoding a WAL's records into the log, without I/O: Wal.open and Wal.validSnapshotEntries feed
 * it the segment files' bytes in order, and the fuzzing suite feeds it anything. Whatever the
 * bytes, the outcome is the log or a WalError (code, file, offset), never another exception.
 */
import type { Entry, EntryType, HardState } from "../raft/types.js";
import {
  ENTRY_FIXED_BODY,
  HARDSTATE_BODY,
  METADATA_BODY,
  REC_ENTRY,
  REC_HARDSTATE,
  REC_METADATA,
  REC_SNAPSHOT,
  SNAPSHOT_BODY,
  WalError,
  decodeEntry,
  decodeHardState,
  getU64,
  scanSegment,
  type ChainState,
  type RecordVisitor,
  type TornTail,
} from "./record.js";

export interface WalMetadata {
  readonly memberId: bigint;
  readonly clusterId: bigint;
}

export interface WalSnapshot {
  readonly index: number;
  readonly term: number;
}

function badBody(file: string, offset: number, what: string, bodyLen: number): WalError {
  return new WalError(`wal: ${what} record with a ${bodyLen}-byte body in ${file} at offset ${offset}`, "EFORMAT", file, offset);
}

/**
 * Wraps a record visitor: a body whose numbers do not fit (a u64 beyond 2^53, which no writer
 * produces) is a format error of that record, not a RangeError escaping the reader.
 */
function guarded(file: string, visit: RecordVisitor): RecordVisitor {
  return (type, buf, body, bodyLen, offset) => {
    try {
      visit(type, buf, body, bodyLen, offset);
    } catch (err) {
      if (err instanceof RangeError) {
        throw new WalError(`wal: ${err.message} in a record of ${file} at offset ${offset}`, "EFORMAT", file, offset);
      }
      throw err;
    }
  };
}

/** Reads the live log after snapshot `from`, one segment at a time (Wal.open's ReadAll). */
export class LogReader {
  metadata: WalMetadata | undefined;
  hardState: HardState = { term: 0, vote: 0n, commit: 0 };
  readonly entries: Entry[] = [];
  /** Indexes of the snapshot markers read. */
  readonly markers: number[] = [];
  /** Index of the last entry read (or of a later snapshot marker). */
  enti: number;
  /** Offset just past the last valid frame of the segment read last. */
  validEnd = 0;
  /** The torn tail found at the end of the last segment, if any. */
  torn: TornTail | undefined;
  private matched = false;
  private readonly chain: ChainState = { crc: 0, chained: false };

  constructor(
    private readonly from: WalSnapshot,
    /** The index entries are expected to continue from (the last segment's name index − 1, or more). */
    enti: number,
  ) {
    this.enti = enti;
  }

  /** The running crc after the last valid record: the seed of the next record appended. */
  get crc(): number {
    return this.chain.crc;
  }

  /** Scans one segment; `isLast` allows a torn tail (reported in `torn`, not repaired here). */
  segment(file: string, buf: Buffer, isLast: boolean): void {
    const res = scanSegment(buf, file, isLast, this.chain, guarded(file, (type, b, body, bodyLen, offset) => this.record(file, type, b, body, bodyLen, offset)));
    this.validEnd = res.validEnd;
    this.torn = res.torn;
  }

  /** After the last segment: the checks that need the whole log. */
  finish(dir: string): { metadata: WalMetadata; hardState: HardState; entries: Entry[] } {
    if (!this.metadata) throw new WalError(`wal: no metadata record in ${dir}`, "EMETA");
    if (!this.matched) {
      throw new WalError(`wal: snapshot marker {index ${this.from.index}, term ${this.from.term}} not found in ${dir}`, "ESNAPSHOT");
    }
    return { metadata: this.metadata, hardState: this.hardState, entries: this.entries };
  }

  private record(file: string, type: number, b: Buffer, body: number, bodyLen: number, offset: number): void {
    switch (type) {
      case REC_ENTRY:
        return this.entry(file, b, body, bodyLen, offset);
      case REC_HARDSTATE:
        if (bodyLen !== HARDSTATE_BODY) throw badBody(file, offset, "hardstate", bodyLen);
        this.hardState = decodeHardState(b, body);
        return;
      case REC_METADATA: {
        if (bodyLen !== METADATA_BODY) throw badBody(file, offset, "metadata", bodyLen);
        const m = { memberId: b.readBigUInt64LE(body), clusterId: b.readBigUInt64LE(body + 8) };
        if (this.metadata && (this.metadata.memberId !== m.memberId || this.metadata.clusterId !== m.clusterId)) {
          throw new WalError(`wal: conflicting metadata in ${file} at offset ${offset}`, "EMETA", file, offset);
        }
        this.metadata = m;
        return;
      }
      case REC_SNAPSHOT:
        return this.snapshot(file, b, body, bodyLen, offset);
    }
  }

  private entry(file: string, b: Buffer, body: number, bodyLen: number, offset: number): void {
    if (bodyLen < ENTRY_FIXED_BODY) throw badBody(file, offset, "entry", bodyLen);
    const type = b[body + 16]! as EntryType;
    if (type !== 0 && type !== 1) throw new WalError(`wal: entry of unknown type ${type} in ${file} at offset ${offset}`, "EFORMAT", file, offset);
    const index = getU64(b, body + 8);
    const from = this.from.index;
    if (index > from) {
      const up = index - from - 1;
      if (up > this.entries.length) {
        throw new WalError(`wal: entry ${index} does not follow entry ${from + this.entries.length} in ${file} at offset ${offset}`, "EGAP", file, offset);
      }
      // A later entry with an index already seen replaces it and everything after it.
      this.entries.length = up;
      this.entries.push(decodeEntry(b, body, bodyLen));
    }
    this.enti = index;
  }

  private snapshot(file: string, b: Buffer, body: number, bodyLen: number, offset: number): void {
    if (bodyLen !== SNAPSHOT_BODY) throw badBody(file, offset, "snapshot", bodyLen);
    const index = getU64(b, body);
    const term = getU64(b, body + 8);
    if (index === this.from.index) {
      if (term !== this.from.term) {
        throw new WalError(
          `wal: snapshot mismatch: marker {index ${index}, term ${term}} in ${file} at offset ${offset}, expected term ${this.from.term}`,
          "ESNAPSHOT",
          file,
          offset,
        );
      }
      this.matched = true;
    }
    this.markers.push(index);
    if (index > this.enti) this.enti = index;
  }
}

/** Collects the snapshot markers and the last commit of a whole WAL, read-only (ValidSnapshotEntries). */
export class MarkerReader {
  readonly snapshots: WalSnapshot[] = [];
  commit = 0;
  private readonly chain: ChainState = { crc: 0, chained: false };

  segment(file: string, buf: Buffer, isLast: boolean): void {
    scanSegment(
      buf,
      file,
      isLast,
      this.chain,
      guarded(file, (type, b, body, bodyLen, offset) => {
        if (type === REC_SNAPSHOT) {
          if (bodyLen !== SNAPSHOT_BODY) throw badBody(file, offset, "snapshot", bodyLen);
          this.snapshots.push({ index: getU64(b, body), term: getU64(b, body + 8) });
        } else if (type === REC_HARDSTATE) {
          if (bodyLen !== HARDSTATE_BODY) throw badBody(file, offset, "hardstate", bodyLen);
          this.commit = getU64(b, body + 16);
        }
      }),
    );
  }

  /** The markers at or below the last commit: the snapshots a restart may use. */
  valid(): WalSnapshot[] {
    return this.snapshots.filter((s) => s.index <= this.commit);
  }
}
