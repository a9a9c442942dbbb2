import { setImmediate as nextTurn } from "node:timers/promises";
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
   * `afterSend` (raft-loop.ts StableStorage): a synced save waits one event-loop turn, so the
   * appends just handed to the transport reach the socket before an inline fdatasync blocks the
   * loop. A thread-pool fdatasync (the earlier choice) left the loop free too, but its round trip
   * made the leader's own durable match, which commit needs, the slowest step of a 3-member put
   * (bench/figures/2026-12-05-put-latency.md). An unsynced save (a commit index) is a page-cache
   * write of ~100 bytes: no turn is worth waiting for it.
   */
  save(hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean, afterSend = false): Promise<void> {
    return this.serial(async () => {
      if (afterSend && mustSync) await nextTurn();
      return this.wal.save(hs, entries, mustSync);
    });
  }

  async saveSnapshot(s: Snapshot): Promise<void> {
    await this.snapshotter.save(s);
    failpoint("raftAfterSaveSnapFile");
    await this.serial(() => this.wal.saveSnapshot({ index: s.metadata.index, term: s.metadata.term }));
    failpoint("raftAfterSaveSnapWal");
  }
}
