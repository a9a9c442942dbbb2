/**
 * A set of watchers organized by what they watch (etcd's mvcc.watcherGroup): single-key watchers in a
 * map by key, range watchers in an interval index (KeyRangeIndex), so finding the watchers of a key
 * costs a map lookup plus a tree descent, not a scan of every range watcher.
 */
import { KeyRangeIndex } from "./key-range-index.js";
import type { Watcher } from "./watcher.js";

export class WatcherGroup {
  readonly all = new Set<Watcher>();
  /**
   * `owner` false: an index only (a sync pass's chosen watchers); the watchers' `group` (which group
   * they belong to) is left alone.
   */
  constructor(private readonly owner = true) {}
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly ranges = new KeyRangeIndex<Watcher>();

  get size(): number {
    return this.all.size;
  }

  add(w: Watcher): void {
    this.all.add(w);
    if (this.owner) w.group = this;
    if (w.end !== undefined) this.ranges.add(w.key, w.end, w);
    else {
      let s = this.byKey.get(w.key);
      if (!s) this.byKey.set(w.key, (s = new Set()));
      s.add(w);
    }
  }

  delete(w: Watcher): boolean {
    if (!this.all.delete(w)) return false;
    if (this.owner && w.group === this) w.group = undefined;
    if (w.end !== undefined) this.ranges.delete(w.key, w.end, w);
    else {
      const s = this.byKey.get(w.key);
      s?.delete(w);
      if (s && s.size === 0) this.byKey.delete(w.key);
    }
    return true;
  }

  /** Calls f once for each watcher whose key/range holds `k` (latin1). */
  forEachWatching(k: string, f: (w: Watcher) => void): void {
    const s = this.byKey.get(k);
    if (s) for (const w of s) f(w);
    this.ranges.forEachContaining(k, f);
  }
}
