/**
 * RaftLog: the node's view of the log = stable Storage + Unstable tail, with the commit and
 * applied cursors (etcd's raftLog).
 *
 * Invariants: applied <= committed <= lastIndex(); firstIndex() - 1 is the snapshot point
 * (its term is still known); entries in [firstIndex, unstable.offset) are in storage,
 * entries >= unstable.offset are unstable.
 */
import {
  type Entry,
  ErrCompacted,
  ErrUnavailable,
  RaftError,
  type RaftLogger,
  type Snapshot,
  type Storage,
} from "./types.js";
import { Unstable } from "./unstable.js";
import { limitSize, maxNum, minNum } from "./util.js";

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed by a quorum. */
  committed: number;
  /** Highest index handed to the driver for application (and acknowledged by advance). */
  applied: number;
  private readonly maxNextEntsSize: number;
  private readonly logger: RaftLogger | undefined;

  constructor(storage: Storage, maxNextEntsSize: number = Infinity, logger?: RaftLogger) {
    this.storage = storage;
    this.maxNextEntsSize = maxNextEntsSize;
    this.logger = logger;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, unstable.offset=${this.unstable.offset}, len(unstable)=${this.unstable.entries.length}`;
  }

  /**
   * Follower side of MsgApp: if our log has (index, logTerm), append ents after it
   * (truncating a conflicting uncommitted suffix) and commit up to min(committed, last new).
   * Returns the last index of the new entries, or -1 if (index, logTerm) does not match.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new RaftError(`entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      }
      const start = ci - (index + 1);
      this.append(start === 0 ? ents : ents.slice(start));
    }
    this.commitTo(minNum(committed, lastNew));
    return lastNew;
  }

  /** Append (possibly truncating the unstable tail); returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new RaftError(`after(${after}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry of ents that is not in our log with the same term (a
   * conflict, or simply new), or 0 if all are already present.
   */
  findConflict(ents: readonly Entry[]): number {
    for (let k = 0; k < ents.length; k++) {
      const e = ents[k]!;
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast back-off: the largest index <= `index` whose term is <= `term` (etcd's
   * findConflictByTerm). An index beyond our log is returned as is; the search stops at the
   * first unknown (compacted) term.
   */
  findConflictByTerm(index: number, term: number): number {
    if (index > this.lastIndex()) return index;
    for (;;) {
      const t = this.termOr(index, -1);
      if (t === -1 || t <= term) return index;
      index--;
    }
  }

  /** The unstable entries (a view that later appends do not change). */
  unstableEntries(): readonly Entry[] {
    return this.unstable.view();
  }

  /** Committed entries not yet applied, available for application (may be size limited). */
  nextEnts(): Entry[] {
    const off = maxNum(this.applied + 1, this.firstIndex());
    if (this.committed + 1 > off) return this.slice(off, this.committed + 1, this.maxNextEntsSize);
    return [];
  }

  hasNextEnts(): boolean {
    return this.committed + 1 > maxNum(this.applied + 1, this.firstIndex());
  }

  snapshot(): Snapshot {
    if (this.unstable.snapshot !== undefined) return this.unstable.snapshot;
    return this.storage.snapshot();
  }

  firstIndex(): number {
    const i = this.unstable.maybeFirstIndex();
    return i !== 0 ? i : this.storage.firstIndex();
  }

  lastIndex(): number {
    const i = this.unstable.maybeLastIndex();
    return i !== 0 ? i : this.storage.lastIndex();
  }

  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      if (this.lastIndex() < toCommit) {
        throw new RaftError(
          `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
        );
      }
      this.committed = toCommit;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (this.committed < i || i < this.applied) {
      throw new RaftError(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /**
   * The term of entry i: 0 outside [firstIndex-1, lastIndex]; throws ErrCompacted /
   * ErrUnavailable from storage.
   */
  term(i: number): number {
    const dummyIndex = this.firstIndex() - 1;
    if (i < dummyIndex || i > this.lastIndex()) return 0;
    const t = this.unstable.maybeTerm(i);
    if (t !== -1) return t;
    return this.storage.term(i);
  }

  /** term(i), or `fallback` when it was compacted / is unavailable. */
  termOr(i: number, fallback: number): number {
    try {
      return this.term(i);
    } catch (err) {
      if (err === ErrCompacted || err === ErrUnavailable) return fallback;
      throw err;
    }
  }

  /** Entries from i to the end, at most maxSize bytes (at least one). Throws ErrCompacted. */
  entries(i: number, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  /** All entries from firstIndex (tests / debugging). */
  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), Infinity);
  }

  /** Is a log ending at (lasti, term) at least as up to date as ours (§5.4.1)? */
  isUpToDate(lasti: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    const t = this.termOr(i, -1);
    return t !== -1 && t === term;
  }

  /** Leader: commit maxIndex if it is newer and of the current term (§5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOr(maxIndex, 0) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.logger?.info("log starts to restore snapshot", {
      log: this.toString(),
      index: s.metadata.index,
      term: s.metadata.term,
    });
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi), at most maxSize bytes (at least one). Throws ErrCompacted if lo < firstIndex. */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    this.checkOutOfBounds(lo, hi);
    if (lo === hi) return [];
    let ents: Entry[] | undefined;
    const off = this.unstable.offset;
    if (lo < off) {
      const stableHi = minNum(hi, off);
      let stored: Entry[];
      try {
        stored = this.storage.entries(lo, stableHi, maxSize);
      } catch (err) {
        if (err === ErrUnavailable) {
          throw new RaftError(`entries[${lo}:${stableHi}) is unavailable from storage`);
        }
        throw err; // ErrCompacted (a racing compaction) or a storage failure
      }
      // Storage already applied the size limit.
      if (stored.length < stableHi - lo) return stored;
      ents = stored;
    }
    if (hi > off) {
      const u = this.unstable.slice(maxNum(lo, off), hi);
      if (ents !== undefined && ents.length > 0) {
        ents = ents.concat(u); // never mutate an array the Storage returned
      } else {
        ents = u;
      }
    }
    return limitSize(ents!, maxSize);
  }

  private checkOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) throw new RaftError(`invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw ErrCompacted;
    const li = this.lastIndex();
    if (hi > li + 1) throw new RaftError(`slice[${lo},${hi}) out of bound [${fi},${li}]`);
  }
}
