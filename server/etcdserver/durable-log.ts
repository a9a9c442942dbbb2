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
   * Every save goes to the WAL as it comes, in call order. The WAL writes a save of up to 64 KiB
   * inline, leader's and follower's alike (wal.ts inlineIoMaxBytes). A leader used to send a synced
   * save of several entries through the thread pool so its loop could read acknowledgements during
   * the fdatasync. Measured side by side, the pool cost it more than that overlap gained: 0.89-0.93x
   * the CPU per put on 3, 5 and 7 members at 100 clients with the inline save, the same puts/s or
   * more (bench/figures/2026-12-06-inline-saves.md). A follower's saves through the pool: 0.81x the puts/s.
   */
  save(hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean): Promise<void> {
    return this.serial(() => this.wal.save(hs, entries, mustSync));
  }

  async saveSnapshot(s: Snapshot): Promise<void> {
    await this.snapshotter.save(s);
    failpoint("raftAfterSaveSnapFile");
    await this.serial(() => this.wal.saveSnapshot({ index: s.metadata.index, term: s.metadata.term }));
    failpoint("raftAfterSaveSnapWal");
  }
}
