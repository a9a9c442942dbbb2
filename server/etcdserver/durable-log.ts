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

  save(hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean, background = false): Promise<void> {
    return this.serial(() => this.wal.save(hs, entries, mustSync, { inline: !background }));
  }

  async saveSnapshot(s: Snapshot): Promise<void> {
    await this.snapshotter.save(s);
    failpoint("raftAfterSaveSnapFile");
    await this.serial(() => this.wal.saveSnapshot({ index: s.metadata.index, term: s.metadata.term }));
    failpoint("raftAfterSaveSnapWal");
  }
}
