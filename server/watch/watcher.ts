/** One watcher (etcd's mvcc.watcher): what it watches, from which revision, with which filters. */
import type { WatchSink } from "./types.js";

export class Watcher {
  /** The next revision this watcher has not been handed. */
  minRev: number;
  /** The WatcherGroup (synced or unsynced) that holds it, compared by identity. */
  group: { delete(w: Watcher): boolean } | undefined;
  compacted = false;
  /** Releases the store's previous values this watcher (prev_kv) holds wanted (MvccStore.retainPrevKv). */
  releasePrevKv: (() => void) | undefined;
  constructor(
    readonly id: number,
    /** Its stream (watchable-store.ts's WatchStream): where its responses go. */
    readonly stream: { readonly sink: WatchSink },
    /** latin1 */
    readonly key: string,
    /** latin1; undefined: single key; "": from key */
    readonly end: string | undefined,
    startRev: number,
    readonly noPut: boolean,
    readonly noDelete: boolean,
    readonly prevKv: boolean,
  ) {
    this.minRev = startRev;
  }

  isRange(): boolean {
    return this.end !== undefined;
  }

  contains(k: string): boolean {
    if (this.end === undefined) return k === this.key;
    return k >= this.key && (this.end === "" || k < this.end);
  }
}
