import type { Entry, HardState, Snapshot } from "../raft/types.js";
import type { Snapshotter } from "../snap/snapshotter.js";
import { failpoint } from "../util/failpoint.js";
import type { Wal } from "../wal/wal.js";
import type { StableStorage } from "./raft-loop.js";

/** The WAL and the snapshot files behind one queue, so snapshot markers never interleave with entry writes. */
export class DurableLog implements StableStorage {
  private tail: Promise<unknown> = Promise.resolve();
  constructor(
    private readonly wal: Wal,
    private readonly snapshotter: Snapshotter,
  ) {}

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.tail.then(f, f);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /**
   * `afterSend` (raft-loop.ts StableStorage): a synced save goes through the thread pool, so the
   * appends just handed to the transport leave while the leader's fdatasync runs, and the loop keeps
   * reading requests and acknowledgements meanwhile. An unsynced save (the commit index, ~100 bytes
   * into the page cache) is written inline: through the pool its round trip cost ~430 µs between
   * "committed" and "applied" on every put (bench/figures/2026-12-05-put-latency.md, which also has
   * the measured alternative: an inline fdatasync one loop turn later).
   */
  save(hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean, afterSend = false): Promise<void> {
    return this.serial(() => this.wal.save(hs, entries, mustSync, { inline: !(afterSend && mustSync) }));
  }

  async saveSnapshot(s: Snapshot): Promise<void> {
    await this.snapshotter.save(s);
    failpoint("raftAfterSaveSnapFile");
    await this.serial(() => this.wal.saveSnapshot({ index: s.metadata.index, term: s.metadata.term }));
    failpoint("raftAfterSaveSnapWal");
  }
}
