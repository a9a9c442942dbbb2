/**
 * The server's reactions to what the raft loop reports: a new leader (soft state), the leader's
 * no-op of a new term applied, the end of each Ready (term, commit, snapshot trigger, a lone
 * voter's campaign), a snapshot from the leader to install, and membership changes (peers,
 * removal of this member).
 */
import type { Logger } from "../log/logger.js";
import { decodeCluster, sortedMembers, type Cluster, type Member } from "../membership/cluster.js";
import { idToHex } from "../membership/ids.js";
import type { ServerMetrics } from "../metrics/metrics.js";
import type { MvccStore } from "../mvcc/index.js";
import { NONE, StateType, type Snapshot, type SoftState } from "../raft/types.js";
import type { RawNode } from "../raft/raw-node.js";
import { releaseSnapDbs } from "../snap/db-file.js";
import type { Clock } from "../util/clock.js";
import { failpoint } from "../util/failpoint.js";
import type { WatchableStore } from "../watch/watchable-store.js";
import type { AuthStore } from "../auth/auth-store.js";
import type { AlarmStore } from "./alarm-store.js";
import type { Applier } from "./applier.js";
import type { ClusterVersion } from "./cluster-version.js";
import type { ServerLeases } from "./leases.js";
import type { MemberPublisher } from "./member-publisher.js";
import type { Proposer } from "./proposer.js";
import type { RaftStatus } from "./raft-status.js";
import type { SnapshotScheduler } from "./snapshot-scheduler.js";
import { swapInSnapshotDb } from "./snapshot-install.js";

export interface RaftEventsDeps {
  readonly status: RaftStatus;
  readonly node: Pick<RawNode, "status" | "hardState" | "campaign">;
  /** Wake the raft loop. */
  kick(): void;
  readonly clock: Clock;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly store: MvccStore;
  readonly watchable: WatchableStore;
  readonly alarms: AlarmStore;
  readonly auth: AuthStore;
  readonly applier: Applier;
  readonly leases: ServerLeases;
  readonly proposer: Pick<Proposer, "leaderKnown">;
  readonly publisher: Pick<MemberPublisher, "publishOnce" | "published">;
  readonly clusterVersion: Pick<ClusterVersion, "decideIfUnset">;
  readonly snapshots: Pick<SnapshotScheduler, "maybeSnapshot" | "installed">;
  /** The peers to keep streams to. */
  setPeers(members: readonly Member[]): void;
  /** Where snapshot databases from the leader are received. */
  readonly snapDir: string;
}

export class RaftEvents {
  private onRemovedFromCluster: () => void = () => undefined;
  private readonly removalListeners: Array<(id: bigint) => void> = [];
  private readonly announcedRemovals = new Set<bigint>();
  /** A lone voter campaigns as soon as its bootstrap/restart entries are applied (etcd fast-forwards its ticks). */
  private campaignWhenApplied = false;

  constructor(private readonly d: RaftEventsDeps) {}

  /**
   * At start: campaign once everything committed is applied if this member is the only voter; and
   * publish this member's attributes, as etcd does at every start (its proposal waits for a leader).
   * Waiting for a no-op of the leader's term instead would never publish a member restarted under
   * the same leader: it replays that no-op before it knows the leader, or skips it in a snapshot.
   */
  started(): void {
    this.campaignWhenApplied = true;
    this.d.publisher.publishOnce();
  }

  /** Called when this member learns it was removed: the process should stop. */
  setOnRemoved(f: () => void): void {
    this.onRemovedFromCluster = f;
  }

  onMemberRemoved(listener: (id: bigint) => void): void {
    this.removalListeners.push(listener);
  }

  onSoftState(ss: SoftState): void {
    const { status, metrics, logger } = this.d;
    const hadLeader = status.lead !== NONE;
    if (ss.lead !== status.lead) {
      if (ss.lead !== NONE) metrics.leaderChanges.inc();
      logger.info(
        { "local-member-id": idToHex(status.memberId), "new-leader": idToHex(ss.lead), term: this.d.node.status().hardState.term },
        ss.lead === NONE ? "raft lost leader" : hadLeader ? "raft leader changed" : "raft elected leader",
      );
    }
    status.setLeader(ss.lead, this.d.clock.now());
    if (ss.raftState !== StateType.Leader) this.d.leases.onNotLeader();
    if (ss.lead !== NONE) this.d.proposer.leaderKnown();
    metrics.hasLeader.set(ss.lead === NONE ? 0 : 1);
    metrics.isLeader.set(ss.raftState === StateType.Leader ? 1 : 0);
  }

  onNoopApplied(_term: number): void {
    const { status } = this.d;
    // etcd promotes the lessor when the leader has applied everything of earlier terms
    if (status.isLeader()) this.d.leases.onLeaderReady();
    if (status.lead !== NONE) this.d.publisher.publishOnce();
    if (status.isLeader()) this.d.clusterVersion.decideIfUnset();
  }

  afterAdvance(): void {
    const { status, applier } = this.d;
    const hs = this.d.node.hardState();
    status.term = hs.term;
    status.commitIndex = hs.commit;
    this.d.metrics.proposalsCommitted.set(status.commitIndex);
    if (this.campaignWhenApplied && applier.appliedIndex >= status.commitIndex) {
      // Only now is the voter set known (a restart learns it by replaying conf changes).
      this.campaignWhenApplied = false;
      const lone = status.confState.voters.length === 1 && status.confState.voters[0] === status.memberId;
      if (lone && status.lead === NONE) {
        this.d.logger.info({ "local-member-id": idToHex(status.memberId) }, "as single-node; fast-forwarding election ticks");
        this.d.node.campaign();
        this.d.kick();
      }
    }
    this.d.snapshots.maybeSnapshot(applier.appliedIndex);
  }

  /** Raft accepted a snapshot from the leader (already persisted by the loop): swap in its database. */
  async installSnapshot(snap: Snapshot): Promise<void> {
    const { store, leases } = this.d;
    const index = snap.metadata.index;
    failpoint("raftAfterSaveHardState");
    store.setLeaseHooks(undefined); // the old lessor must not see the new state's keys
    await swapInSnapshotDb(store, this.d.snapDir, index);
    // the backend's lease and alarm buckets changed with it: reload them, then re-attach the keys
    leases.lessor.recover();
    this.d.alarms.recover();
    this.d.auth.recover();
    store.setLeaseHooks(leases.lessor.hooks);
    this.d.watchable.restored();
    const cluster = decodeCluster(snap.data);
    this.d.applier.reset(cluster, index, snap.metadata.term);
    this.d.status.confState = snap.metadata.confState;
    this.d.snapshots.installed(index);
    this.onClusterChanged(cluster);
    failpoint("serverAfterApplySnap");
    await releaseSnapDbs(this.d.snapDir, store.consistentIndex());
    this.d.logger.info({ "snapshot-index": index, revision: store.currentRevision() }, "applied snapshot from leader");
  }

  onClusterChanged(c: Cluster): void {
    for (const id of c.removed) {
      if (this.announcedRemovals.has(id)) continue;
      this.announcedRemovals.add(id);
      for (const l of this.removalListeners) l(id);
    }
    this.d.setPeers(sortedMembers(c));
    const self = this.d.status.memberId;
    if (c.removed.has(self) || (!c.members.has(self) && c.members.size > 0 && this.d.publisher.published)) this.removedFromCluster();
  }

  removedFromCluster(): void {
    if (this.d.status.stopped) return;
    this.d.logger.warn({ "local-member-id": idToHex(this.d.status.memberId) }, "the member has been permanently removed from the cluster");
    this.onRemovedFromCluster();
  }
}
