/**
 * The not-yet-persisted tail of the log (etcd's `unstable`): entries the node has accepted but
 * the driver has not yet written to stable storage, and possibly an incoming snapshot.
 *
 * `entries[i].index === offset + i`. When a snapshot is pending, offset === snapshot index + 1.
 */
import type { Entry, Snapshot } from "./types.js";
import { RaftError } from "./types.js";

export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  offset: number;
  /** `entries` was handed out (in a Ready): copy before mutating it in place. */
  private shared = false;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** First index if a snapshot is pending, else 0 (unknown). */
  maybeFirstIndex(): number {
    return this.snapshot !== undefined ? this.snapshot.metadata.index + 1 : 0;
  }

  /** Last index held here (entries, else the pending snapshot), else 0 (unknown). */
  maybeLastIndex(): number {
    const n = this.entries.length;
    if (n !== 0) return this.offset + n - 1;
    if (this.snapshot !== undefined) return this.snapshot.metadata.index;
    return 0;
  }

  /** The term of entry i if held here, else -1. */
  maybeTerm(i: number): number {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return -1;
    }
    const e = this.entries[i - this.offset];
    return e === undefined ? -1 : e.term;
  }

  /** Entries up to (i, t) were persisted: drop them, unless they were replaced meanwhile. */
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === -1) return;
    // Only if the term matches (the entry was not overwritten by a newer leader since the
    // Ready) and it is an entry, not the snapshot.
    if (gt === t && i >= this.offset) {
      this.entries = this.entries.slice(i + 1 - this.offset);
      this.offset = i + 1;
      this.shared = false;
    }
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.entries = [];
    this.shared = false;
    this.snapshot = s;
  }

  /**
   * Append `ents` (contiguous, ents[0].index <= last+1), truncating any held suffix they
   * overwrite. Never keeps a reference to the caller's array (it may be a message's).
   */
  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0]!.index;
    const end = this.offset + this.entries.length;
    if (after === end) {
      if (this.shared) {
        this.entries = this.entries.slice();
        this.shared = false;
      }
      for (let k = 0; k < ents.length; k++) this.entries.push(ents[k]!);
    } else if (after <= this.offset) {
      // Replace everything held (the log below offset is in storage and gets overwritten there
      // when the driver appends these entries).
      this.offset = after;
      this.entries = ents.slice();
      this.shared = false;
    } else {
      // Keep [offset, after), then append. A fresh array, so a Ready handed out earlier keeps
      // its view.
      const kept = this.entries.slice(0, after - this.offset);
      for (let k = 0; k < ents.length; k++) kept.push(ents[k]!);
      this.entries = kept;
      this.shared = false;
    }
  }

  /** The held entries, as an immutable view (later appends do not change it). */
  view(): readonly Entry[] {
    if (this.entries.length === 0) return [];
    this.shared = true;
    return this.entries;
  }

  /** entries in [lo, hi) (a new array). */
  slice(lo: number, hi: number): Entry[] {
    const upper = this.offset + this.entries.length;
    if (lo > hi || lo < this.offset || hi > upper) {
      throw new RaftError(`unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
