/** One watcher (etcd's mvcc.watcher): what it watches, from which revision, with which filters. */
import type { WatchStream } from "./watchable-store.js";
import type { WatcherGroup } from "./watcher-group.js";

export class Watcher {
  /** The next revision this watcher has not been handed. */
  minRev: number;
  group: WatcherGroup | undefined;
  compacted = false;
  constructor(
    readonly id: number,
    readonly stream: WatchStream,
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
