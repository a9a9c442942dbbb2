import type { Entry, HardState, Snapshot } from "../raft/types.js";
import type { Snapshotter } from "../snap/snapshotter.js";
import { failpoint } from "../util/failpoint.js";
import type { Wal } from "../wal/wal.js";
import type { StableStorage } from "./raft-loop.js";

/**
 * A leader's synced save of at most this many entries is made inline even after its early send:
 * the appends are already in the kernel (a raft stream's write is a synchronous socket write), and
 * a Ready with one entry means nothing else is waiting for the loop, so the pool's hand-off
 * (~300 µs more than the inline fdatasync at 1 client on 3 members) is pure latency. With more
 * entries per Ready (many clients) the pool save lets the loop read requests and acknowledgements
 * while the disk works.
 */
const SOLE_ENTRY = 1;

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
   * `afterSend` (raft-loop.ts StableStorage): a synced save of several entries goes through the
   * thread pool, so the loop keeps reading requests and acknowledgements while the leader's
   * fdatasync runs; one of a sole entry is inline (SOLE_ENTRY). An unsynced save (the commit index,
   * ~100 bytes into the page cache) is written inline: through the pool its round trip cost ~430 µs
   * between "committed" and "applied" on every put (bench/figures/2026-12-05-put-latency.md; the
   * sole-entry rule: bench/figures/2026-12-05-raft-stream.md).
   */
  save(hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean, afterSend = false): Promise<void> {
    return this.serial(() => this.wal.save(hs, entries, mustSync, { inline: !(afterSend && mustSync) || entries.length <= SOLE_ENTRY }));
  }

  async saveSnapshot(s: Snapshot): Promise<void> {
    await this.snapshotter.save(s);
    failpoint("raftAfterSaveSnapFile");
    await this.serial(() => this.wal.saveSnapshot({ index: s.metadata.index, term: s.metadata.term }));
    failpoint("raftAfterSaveSnapWal");
  }
}
