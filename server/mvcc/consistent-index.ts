import type { Bucket } from "../backend/backend.js";

const META_CONSISTENT_INDEX = Buffer.from("consistent_index");
const META_TERM = Buffer.from("term");

function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(Math.floor(n / 0x1_0000_0000), 0);
  b.writeUInt32BE(n >>> 0, 4);
  return b;
}

/**
 * Sets the consistent index and its term outright, lower or not (a backend restored into a new
 * cluster, whose log starts again at 1): only while no store is open over the backend.
 */
export function resetConsistentIndex(meta: Bucket, index: number, term: number): void {
  meta.put(META_CONSISTENT_INDEX, u64(index));
  meta.put(META_TERM, u64(term));
}

/**
 * The index (and term) of the last raft entry applied, kept in the meta bucket with the writes it
 * covers. The meta row is written once per event-loop turn, from a microtask queued by the first
 * change: it always runs after the turn's last write and before lmdb-js closes the turn's batch (in
 * a setImmediate), so each backend transaction ends with the consistent index that covers exactly
 * its rows.
 */
export class ConsistentIndex {
  index = 0;
  term = 0;
  private savedIndex = 0;
  private savedTerm = 0;
  private flushQueued = false;

  constructor(private readonly meta: Bucket) {}

  /** Reads what the meta bucket holds (at open, after a restore). */
  load(): void {
    const num = (k: Buffer): number | undefined => {
      const v = this.meta.get(k);
      if (!v) return undefined;
      return v.length >= 8 ? Number(v.readBigUInt64BE(0)) : undefined;
    };
    this.index = this.savedIndex = num(META_CONSISTENT_INDEX) ?? 0;
    this.term = this.savedTerm = num(META_TERM) ?? 0;
  }

  /** Records the applied index (and term); lower or equal values are ignored. */
  save(index: number, term?: number): void {
    let dirty = false;
    if (index > this.index) {
      this.index = index;
      dirty = true;
    }
    if (term !== undefined && term > this.term) {
      this.term = term;
      dirty = true;
    }
    if (dirty && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  /** Writes a change not written yet now (before closing). */
  flushPending(): void {
    if (this.flushQueued) this.flush();
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    if (this.index !== this.savedIndex) {
      this.meta.put(META_CONSISTENT_INDEX, u64(this.index));
      this.savedIndex = this.index;
    }
    if (this.term !== this.savedTerm) {
      this.meta.put(META_TERM, u64(this.term));
      this.savedTerm = this.term;
    }
  };
}
