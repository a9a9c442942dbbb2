/**
 * When to snapshot, and what a snapshot is here (etcd's triggerSnapshot): every --snapshot-count
 * applied entries, the raft snapshot records membership and the position (the backend already holds
 * the state, with its consistent index); raft's log and the WAL segments before it can then go.
 * (The snapshot files themselves are snap/snapshotter.ts's.)
 */
import type { Logger } from "../log/logger.js";
import { encodeCluster, type Cluster } from "../membership/cluster.js";
import { idToHex } from "../membership/ids.js";
import type { ServerMetrics } from "../metrics/metrics.js";
import type { MemoryStorage } from "../raft/memory-storage.js";
import type { ConfState } from "../raft/types.js";
import type { StableStorage } from "./raft-loop.js";

/** Keep some entries so a slightly slow follower catches up from the log, not a snapshot (etcd: 5000). */
const SNAPSHOT_CATCHUP_ENTRIES = 5000;

export interface SnapshotSchedulerDeps {
  readonly backend: { flush(): Promise<void> };
  readonly storage: Pick<MemoryStorage, "createSnapshot" | "firstIndex" | "compact">;
  readonly stable: Pick<StableStorage, "saveSnapshot">;
  readonly wal: { releaseTo(index: number): Promise<void> };
  readonly snapshots: { purge(keep: number): Promise<void> };
  readonly metrics: Pick<ServerMetrics, "snapshotSaves">;
  readonly logger: Logger;
  readonly memberId: bigint;
  /** Entries applied since the last snapshot that trigger the next (--snapshot-count). */
  readonly snapshotCount: number;
  readonly maxSnapshots: number;
  confState(): ConfState;
  membership(): Cluster;
  /** A snapshot could not be saved (or old files released): the member must stop, as etcd's does. */
  onFatal(err: Error): void;
}

export class SnapshotScheduler {
  private running = false;

  /** `index`: the newest snapshot's (the state machine was restored to it). */
  constructor(
    private readonly d: SnapshotSchedulerDeps,
    private index: number,
  ) {}

  /** After a raft loop turn: snapshot once more than snapshotCount entries were applied since the last. */
  maybeSnapshot(appliedIndex: number): void {
    // membership and configuration as of appliedIndex: later applies must not leak into this snapshot
    if (!this.running && appliedIndex - this.index > this.d.snapshotCount) void this.snapshot(appliedIndex, this.d.confState(), encodeCluster(this.d.membership()));
  }

  /** A snapshot from the leader was installed at `index`. */
  installed(index: number): void {
    this.index = index;
  }

  private async snapshot(index: number, confState: ConfState, membership: Uint8Array): Promise<void> {
    const d = this.d;
    this.running = true;
    try {
      // The consistent index of the entries just applied is written from a microtask: let it be
      // queued before the barrier, so the backend covers `index` before a snapshot says it does
      // (start-up refuses a backend older than its snapshot).
      await new Promise((r) => setImmediate(r));
      await d.backend.flush();
      const snap = d.storage.createSnapshot(index, confState, membership);
      const t0 = performance.now();
      await d.stable.saveSnapshot(snap);
      d.metrics.snapshotSaves.observe((performance.now() - t0) / 1000);
      this.index = index;
      const compactTo = index - SNAPSHOT_CATCHUP_ENTRIES;
      if (compactTo > d.storage.firstIndex()) d.storage.compact(compactTo);
      await d.wal.releaseTo(index);
      await d.snapshots.purge(d.maxSnapshots);
      d.logger.info({ "local-member-id": idToHex(d.memberId), "snapshot-index": index }, "saved snapshot");
    } catch (e) {
      d.onFatal(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.running = false;
    }
  }
}
