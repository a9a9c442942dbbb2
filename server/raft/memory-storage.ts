/**
 * MemoryStorage: an in-memory Storage (etcd's raft.MemoryStorage). The raft core reads it; the
 * driver writes it (append / applySnapshot / setHardState) after persisting a Ready, and
 * trims it (createSnapshot / compact) as the state machine moves on.
 *
 * Layout: `ents[0]` is a dummy entry carrying the index and term of the last compacted entry
 * (the snapshot point); real entries follow it, so `ents[i].index === ents[0].index + i`.
 */
import {
  type ConfState,
  type Entry,
  EMPTY_HARD_STATE,
  EntryType,
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  type HardState,
  RaftError,
  type Snapshot,
  type Storage,
} from "./types.js";
import { countWithinSize, EMPTY_BYTES, EMPTY_SNAPSHOT } from "./util.js";

function dummy(index: number, term: number): Entry {
  return { term, index, type: EntryType.Normal, data: EMPTY_BYTES };
}

export class MemoryStorage implements Storage {
  private hs: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = EMPTY_SNAPSHOT;
  private ents: Entry[] = [dummy(0, 0)];

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hs, confState: this.snap.metadata.confState };
  }

  /** The persisted hard state (what initialState() will return). */
  hardState(): HardState {
    return this.hs;
  }

  setHardState(hs: HardState): void {
    this.hs = hs;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw ErrCompacted;
    if (hi > this.lastIndex() + 1) {
      throw new RaftError(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    }
    if (this.ents.length === 1) throw ErrUnavailable; // only the dummy entry
    if (lo >= hi) return [];
    const from = lo - offset;
    const to = hi - offset;
    const n = countWithinSize(this.ents, from, to, maxSize);
    return this.ents.slice(from, from + n);
  }

  term(index: number): number {
    const offset = this.ents[0]!.index;
    if (index < offset) throw ErrCompacted;
    const e = this.ents[index - offset];
    if (e === undefined) throw ErrUnavailable;
    return e.term;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replace the contents with a snapshot (a follower installing one it received). */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.snap.metadata.index) throw ErrSnapOutOfDate;
    this.snap = snap;
    this.ents = [dummy(snap.metadata.index, snap.metadata.term)];
  }

  /**
   * Record a snapshot of the state machine at `index` (<= the applied index); a later
   * compact(index) may then drop the log prefix. `confState` is the configuration at `index`.
   */
  createSnapshot(index: number, confState: ConfState | undefined, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) throw ErrSnapOutOfDate;
    const offset = this.ents[0]!.index;
    if (index > this.lastIndex()) {
      throw new RaftError(`snapshot ${index} is out of bound lastindex(${this.lastIndex()})`);
    }
    const term = this.ents[index - offset]!.term;
    this.snap = {
      metadata: { index, term, confState: confState ?? this.snap.metadata.confState },
      data,
    };
    return this.snap;
  }

  /** Discard all entries up to and including compactIndex (it must be <= the applied index). */
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw ErrCompacted;
    if (compactIndex > this.lastIndex()) {
      throw new RaftError(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    }
    const i = compactIndex - offset;
    const rest = this.ents.slice(i + 1);
    rest.unshift(dummy(this.ents[i]!.index, this.ents[i]!.term));
    this.ents = rest;
  }

  /**
   * Append entries (already persisted by the driver). Entries before firstIndex are ignored;
   * an entry that overlaps the existing log truncates it from that index (the leader overwrote
   * an uncommitted suffix). The entries must be contiguous with the log (no gap).
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return; // all compacted away
    let start = 0;
    if (first > entries[0]!.index) start = first - entries[0]!.index;
    const at = entries[start]!.index - this.ents[0]!.index; // position in ents
    if (at > this.ents.length) {
      throw new RaftError(`missing log entry [last: ${this.lastIndex()}, append at: ${entries[start]!.index}]`);
    }
    if (at < this.ents.length) this.ents.length = at; // truncate the conflicting suffix
    for (let k = start; k < entries.length; k++) this.ents.push(entries[k]!);
  }
}
