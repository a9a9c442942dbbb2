/**
 * The in-memory key index: every key's revision history (KeyIndex), reachable by exact key
 * (hash map) and in key order (SortedKeys) for range scans. Keys are latin1 strings (one char
 * per byte), so JS string comparison is etcd's bytewise key order.
 */
import { KeyIndex, type KeyRev } from "./key-index.js";
import { SortedKeys } from "./sorted-keys.js";

export function keyString(key: Buffer): string {
  return key.toString("latin1");
}

/** A range's upper bound as a key string: undefined for "no bound" (rangeEnd "\0"). */
export function rangeEndString(rangeEnd: Buffer): string | undefined {
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return undefined;
  return keyString(rangeEnd);
}

export class TreeIndex {
  private readonly byKey = new Map<string, KeyIndex>();
  private readonly ordered = new SortedKeys<KeyIndex>();

  get size(): number {
    return this.byKey.size;
  }

  keyIndex(key: string): KeyIndex | undefined {
    return this.byKey.get(key);
  }

  /** Add a new (empty) KeyIndex for a key that has none. */
  create(key: string): KeyIndex {
    const ki = new KeyIndex(key);
    this.byKey.set(key, ki);
    this.ordered.insert(ki);
    return ki;
  }

  /** Add a restored KeyIndex. */
  insert(ki: KeyIndex): void {
    this.byKey.set(ki.key, ki);
    this.ordered.insert(ki);
  }

  remove(key: string): void {
    if (this.byKey.delete(key)) this.ordered.delete(key);
  }

  get(key: string, atRev: number): KeyRev | undefined {
    return this.byKey.get(key)?.get(atRev);
  }

  /**
   * Visit the keys of [start, end) (end undefined: no bound) that exist at atRev, in key order.
   * The visitor returns false to stop.
   */
  visitAt(start: string, end: string | undefined, atRev: number, visit: (ki: KeyIndex, r: KeyRev) => boolean | void): void {
    if (end !== undefined && end <= start) return;
    this.ordered.forRange(start, end, (ki) => {
      const r = ki.get(atRev);
      if (r === undefined) return true;
      return visit(ki, r);
    });
  }

  /** Visit KeyIndexes in [start, end) regardless of liveness (watch, compaction). */
  visitAll(start: string, end: string | undefined, visit: (ki: KeyIndex) => boolean | void, exclusiveStart = false): void {
    this.ordered.forRange(start, end, visit, exclusiveStart);
  }

  /** etcd's treeIndex.Keep: revIds compact(rev) would keep. */
  keep(rev: number, idOf: (main: number, sub: number) => string): Set<string> {
    const available = new Set<string>();
    this.ordered.forEach((ki) => ki.keep(rev, available, idOf));
    return available;
  }
}
