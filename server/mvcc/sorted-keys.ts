/**
 * An ordered collection of items keyed by string (bytewise order via latin1 strings), as a list
 * of sorted chunks (a two-level B+tree). Inserts/deletes cost O(chunk) memmove, lookups
 * O(log n), ordered scans are array walks. Used for the key index's range scans.
 */
const MAX_CHUNK = 1024;
const MIN_CHUNK = 256;

export interface Keyed {
  readonly key: string;
}

export class SortedKeys<T extends Keyed> {
  private chunks: T[][] = [];
  /** maxes[i] = key of the last item of chunks[i]. */
  private maxes: string[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Index of the first chunk whose max >= key (chunks.length if none). */
  private chunkFor(key: string): number {
    const m = this.maxes;
    let lo = 0;
    let hi = m.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (m[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private static lowerBound<T extends Keyed>(chunk: T[], key: string): number {
    let lo = 0;
    let hi = chunk.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (chunk[mid]!.key < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(key: string): T | undefined {
    const ci = this.chunkFor(key);
    if (ci === this.chunks.length) return undefined;
    const chunk = this.chunks[ci]!;
    const i = SortedKeys.lowerBound(chunk, key);
    const it = chunk[i];
    return it !== undefined && it.key === key ? it : undefined;
  }

  /** Insert an item whose key is not present. */
  insert(item: T): void {
    const key = item.key;
    if (this.chunks.length === 0) {
      this.chunks.push([item]);
      this.maxes.push(key);
      this.count = 1;
      return;
    }
    let ci = this.chunkFor(key);
    if (ci === this.chunks.length) ci--; // beyond every max: append to the last chunk
    const chunk = this.chunks[ci]!;
    const i = SortedKeys.lowerBound(chunk, key);
    if (i < chunk.length && chunk[i]!.key === key) throw new Error("SortedKeys.insert: duplicate key");
    chunk.splice(i, 0, item);
    this.count++;
    if (i === chunk.length - 1) this.maxes[ci] = key;
    if (chunk.length > MAX_CHUNK) {
      const right = chunk.splice(chunk.length >>> 1);
      this.chunks.splice(ci + 1, 0, right);
      this.maxes[ci] = chunk[chunk.length - 1]!.key;
      this.maxes.splice(ci + 1, 0, right[right.length - 1]!.key);
    }
  }

  /** Remove the item with `key`; returns whether it was present. */
  delete(key: string): boolean {
    const ci = this.chunkFor(key);
    if (ci === this.chunks.length) return false;
    const chunk = this.chunks[ci]!;
    const i = SortedKeys.lowerBound(chunk, key);
    if (i >= chunk.length || chunk[i]!.key !== key) return false;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) {
      this.chunks.splice(ci, 1);
      this.maxes.splice(ci, 1);
      return true;
    }
    if (i === chunk.length) this.maxes[ci] = chunk[chunk.length - 1]!.key;
    if (chunk.length < MIN_CHUNK && this.chunks.length > 1) {
      // merge with a neighbour (then split again if too large)
      const li = ci > 0 ? ci - 1 : ci;
      const merged = this.chunks[li]!.concat(this.chunks[li + 1]!);
      this.chunks.splice(li, 2, merged);
      this.maxes.splice(li, 2, merged[merged.length - 1]!.key);
      if (merged.length > MAX_CHUNK) {
        const right = merged.splice(merged.length >>> 1);
        this.chunks.splice(li + 1, 0, right);
        this.maxes[li] = merged[merged.length - 1]!.key;
        this.maxes.splice(li + 1, 0, right[right.length - 1]!.key);
      }
    }
    return true;
  }

  /**
   * Visit items with start <= key < end in order (end === undefined: no upper bound; with
   * `exclusiveStart`, start < key). The visitor returns false to stop early.
   * The collection must not be modified during the visit.
   */
  forRange(start: string, end: string | undefined, visit: (item: T) => boolean | void, exclusiveStart = false): void {
    const chunks = this.chunks;
    let ci = this.chunkFor(start);
    if (ci === chunks.length) return;
    let i = SortedKeys.lowerBound(chunks[ci]!, start);
    if (exclusiveStart) {
      const c = chunks[ci]!;
      if (i < c.length && c[i]!.key === start) i++;
    }
    for (; ci < chunks.length; ci++, i = 0) {
      const chunk = chunks[ci]!;
      for (; i < chunk.length; i++) {
        const it = chunk[i]!;
        if (end !== undefined && it.key >= end) return;
        if (visit(it) === false) return;
      }
    }
  }

  /** Visit every item in order. */
  forEach(visit: (item: T) => void): void {
    for (const chunk of this.chunks) for (const it of chunk) visit(it);
  }
}
