import type { Logger } from "../log/logger.js";
import { decodeCluster, sortedMembers, type Cluster, type Member } from "../membership/cluster.js";
import { computeMemberId, idToHex } from "../membership/ids.js";
import { Transport } from "../transport/transport.js";
import type { PeerDialer } from "../tls/peer-dialer.js";
import type { PeerReceiver } from "../transport/peer-service.js";
import { join } from "node:path";
import type { ServerMetrics } from "../metrics/metrics.js";
import { ErrBadLeaderTransferee, ErrNoLeader, ErrNoSpace, ErrNotLeader, ErrStopped, ErrTimeoutLeaderTransfer } from "../pb/errors.js";
import type * as kv from "../pb/kv.js";
import { ConfChangeType, MessageType, NONE, StateType, type ConfState, type Message, type Snapshot, type SoftState } from "../raft/types.js";
import type { RawNode } from "../raft/raw-node.js";
import type { MemoryStorage } from "../raft/memory-storage.js";
import type { MvccStore } from "../mvcc/index.js";
import type { Backend } from "../backend/index.js";
import { applyRange, applyTxn } from "./apply/index.js";
import { Applier, type ApplyResult, type ApplyValue, type CompactResult } from "./applier.js";
import { IdGenerator } from "./id-generator.js";
import { LinearizableReads } from "./linearizable-reads.js";
import { ProposalKind } from "./proposal.js";
import { RaftLoop, type StableStorage } from "./raft-loop.js";
import { WaitRegistry } from "./wait.js";
import { AutoCompactor } from "./auto-compactor.js";
import { Lessor, LEASE_BUCKET, minLeaseTtl } from "../lease/lessor.js";
import { ServerLeases } from "./leases.js";
import { WatchableStore } from "../watch/watchable-store.js";
import { serviceDefinition } from "../api/proto/load.js";
import { DEFAULT_QUOTA_BYTES, snapDirOf, type MemberConfig } from "../config/member-config.js";
import { checkLearnerReady, checkMemberAdd, checkMemberRemove, checkMemberUpdate, checkPromotable, type ReconfigView } from "./membership-checks.js";
import { MemberPublisher } from "./member-publisher.js";
import { Proposer } from "./proposer.js";
import { Snapshotter } from "./snapshotter.js";
import { checkHealth, type HealthResult } from "./health.js";
import { ClusterVersion } from "./cluster-version.js";
import { isTxnReadOnly, isTxnSerializable, txnHasPut } from "./txn-kinds.js";
import { checkForwardedProposal } from "./proposal-check.js";
import { swapInSnapshotDb } from "./snapshot-install.js";
import { RateLimitedLog } from "../log/rate-limited.js";
import { PEER_WARNING_INTERVAL_MS } from "../transport/peer-service.js";
import { releaseSnapDbs } from "../snap/db-file.js";
import { failpoint } from "../util/failpoint.js";

export const API_VERSION = "3.4.0";
export { CLUSTER_VERSION } from "./cluster-version.js";

export interface Header {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly revision: number;
  readonly raftTerm: number;
}

export interface StatusInfo {
  readonly header: Header;
  readonly version: string;
  readonly dbSize: number;
  readonly dbSizeInUse: number;
  readonly leader: bigint;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly raftAppliedIndex: number;
  readonly errors: string[];
  readonly isLearner: boolean;
}

export interface SnapshotStore {
  save(s: Snapshot): Promise<void>;
  purge(keep: number): Promise<void>;
}

export interface WalRetention {
  releaseTo(index: number): Promise<void>;
}

export interface ServerParts {
  readonly cfg: MemberConfig;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly memberId: bigint;
  readonly cluster: Cluster;
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  readonly stable: StableStorage;
  readonly snapshots: SnapshotStore;
  readonly wal: WalRetention;
  readonly backend: Backend;
  readonly store: MvccStore;
  /** Index the state machine was restored to (the newest snapshot's). */
  readonly appliedIndex: number;
  readonly confState: ConfState;
  /** How peers are dialled (plaintext, or TLS for https:// peer URLs): server/tls/peer-dialer.ts. */
  readonly peerDialer?: PeerDialer;
  /** Closes the WAL and the backend (after the loop has stopped). */
  readonly closeStorage: () => Promise<void>;
}

/** What a KV write's caller gets back: the typed response and the header to send with it. */
export interface Applied<T> {
  readonly header: Header;
  readonly response: T;
}

/**
 * The etcd server proper: turns client requests into raft proposals or linearizable reads,
 * applies committed entries, and answers status questions. The API layer talks only to this.
 */
export class EtcdServer implements PeerReceiver {
  readonly memberId: bigint;
  private readonly transport: Transport;
  private readonly peerWarnings: RateLimitedLog;
  private onRemovedFromCluster: () => void = () => undefined;
  private readonly removalListeners: Array<(id: bigint) => void> = [];
  private readonly announcedRemovals = new Set<bigint>();
  private readonly loop: RaftLoop;
  private readonly applier: Applier;
  private readonly reads: LinearizableReads;
  private readonly waits = new WaitRegistry<ApplyResult>();
  private readonly ids: IdGenerator;
  private lead: bigint = NONE;
  /** When this member last became leader (etcd's leadElectedTime, for parseProposeCtxErr). */
  private leadElectedAt = 0;
  private term = 0;
  private commitIndex = 0;
  private confState: ConfState;
  private readonly snapshotter: Snapshotter;
  private readonly proposer: Proposer;
  private readonly publisher: MemberPublisher;
  private readonly clusterVersion: ClusterVersion;
  private stopped = false;
  /** A lone voter campaigns as soon as its bootstrap/restart entries are applied (etcd fast-forwards its ticks). */
  private campaignWhenApplied = false;
  private readonly requestTimeoutMs: number;
  private readonly quotaBytes: number;
  readonly alarms: string[] = [];
  private readonly compactor: AutoCompactor;
  /** Lease API (lessor, grant/revoke through raft, expiry). */
  readonly leases: ServerLeases;
  /** Watchers over this member's MVCC store. */
  readonly watchable: WatchableStore;

  readonly metrics: ServerMetrics;

  constructor(private readonly p: ServerParts) {
    this.memberId = p.memberId;
    this.metrics = p.metrics;
    this.peerWarnings = new RateLimitedLog(p.logger, PEER_WARNING_INTERVAL_MS);
    this.ids = new IdGenerator(p.memberId, Date.now());
    this.confState = p.confState;
    this.requestTimeoutMs = 5000 + 2 * p.cfg.electionTimeoutMs;
    this.quotaBytes = p.cfg.quotaBackendBytes > 0 ? p.cfg.quotaBackendBytes : DEFAULT_QUOTA_BYTES;
    this.compactor = new AutoCompactor(
      p.cfg.autoCompactionMode,
      AutoCompactor.parseRetention(p.cfg.autoCompactionMode, p.cfg.autoCompactionRetention),
      { currentRevision: () => p.store.currentRevision(), compact: (rev) => this.compactInternal(rev) },
      p.logger,
    );
    // the lessor before the KV store attaches its leased keys (etcd: "always recover lessor before kv")
    const lessor = new Lessor(p.backend.bucket(LEASE_BUCKET), {
      minTtl: minLeaseTtl(p.cfg.heartbeatIntervalMs, p.cfg.electionTimeoutMs),
      expiredRetryMs: this.requestTimeoutMs,
      logger: { warn: (m, f) => p.logger.warn(f ?? {}, m) },
    });
    p.store.setLeaseHooks(lessor.hooks);
    this.leases = new ServerLeases({
      lessor,
      propose: (kind, payload, signal) => this.propose(kind, payload, signal),
      isLeader: () => this.lead === this.memberId,
      commitIndex: () => this.commitIndex,
      appliedIndex: () => this.applier.appliedIndex,
      checkQuota: () => this.checkQuota(),
      logger: p.logger,
      electionTimeoutMs: p.cfg.electionTimeoutMs,
    });
    this.watchable = new WatchableStore(p.store);
    this.applier = new Applier(
      p.store,
      p.cluster,
      p.appliedIndex,
      this.waits,
      {
        confState: () => this.confState,
        applyConfChange: (cc) => (this.confState = p.node.applyConfChange(cc)),
        onNoopApplied: (term) => this.onNoopApplied(term),
        onClusterChanged: (c) => this.onClusterChanged(c),
        onClusterVersion: (v) => this.clusterVersion.applied(v),
      },
      p.logger,
      lessor.hooks,
      lessor,
    );
    this.transport = new Transport(
      p.memberId,
      p.cluster.clusterId,
      {
        reportUnreachable: (id) => p.node.reportUnreachable(id),
        reportSnapshot: (id, ok) => {
          p.node.reportSnapshot(id, ok);
          this.loop.kick();
        },
        onRemoved: () => this.removedFromCluster(),
        backendCopy: async () => {
          const file = join(snapDirOf(p.cfg), `outgoing-${process.hrtime.bigint()}.db`);
          await p.backend.backup(file);
          return file;
        },
      },
      p.logger,
      p.peerDialer,
    );
    this.transport.setPeers(sortedMembers(p.cluster));
    this.reads = new LinearizableReads({
      node: p.node,
      kick: () => this.loop.kick(),
      appliedIndex: () => this.applier.appliedIndex,
      timeoutMs: this.requestTimeoutMs,
      onFailed: () => p.metrics.readIndexFailed.inc(),
      onRetry: () => p.metrics.slowReadIndex.inc(),
      nextCtx: () => this.ids.nextId(),
    });
    this.loop = new RaftLoop(
      p.node,
      p.storage,
      p.stable,
      {
        applySnapshot: (snap) => this.applyReceivedSnapshot(snap),
        apply: (entries) => {
          this.applier.apply(entries);
          p.metrics.proposalsApplied.set(this.applier.appliedIndex);
          this.reads.onApplied();
        },
        send: (msgs) => this.transport.send(msgs),
        onSoftState: (ss) => this.onSoftState(ss),
        onReadStates: (rs) => this.reads.onReadStates(rs),
        afterAdvance: () => this.afterAdvance(),
        onFatal: () => process.exit(1),
      },
      p.logger,
      (s) => p.metrics.walFsync.observe(s),
    );
    this.proposer = new Proposer({
      node: p.node,
      waits: this.waits,
      ids: this.ids,
      kick: () => this.loop.kick(),
      leader: () => this.lead,
      stopped: () => this.stopped,
      metrics: p.metrics,
      maxRequestBytes: p.cfg.maxRequestBytes,
      timeoutMs: this.requestTimeoutMs,
      leadership: {
        selfId: p.memberId,
        electionTimeoutMs: p.cfg.electionTimeoutMs,
        leadElectedAt: () => this.leadElectedAt,
        leader: () => this.lead,
        members: () => this.members().map((m) => m.id),
        activeSince: (id) => this.transport.activeSince(id),
      },
    });
    this.publisher = new MemberPublisher({
      memberId: p.memberId,
      name: p.cfg.name,
      clientUrls: p.cfg.advertiseClientUrls,
      propose: (kind, payload) => this.propose(kind, payload),
      clusterId: () => this.clusterId(),
      stopped: () => this.stopped,
      logger: p.logger,
    });
    this.clusterVersion = new ClusterVersion({ memberId: p.memberId, clusterId: () => this.clusterId(), propose: (k, payload) => this.propose(k, payload), logger: p.logger });
    this.snapshotter = new Snapshotter(
      {
        backend: p.backend,
        storage: p.storage,
        stable: p.stable,
        wal: p.wal,
        snapshots: p.snapshots,
        metrics: p.metrics,
        logger: p.logger,
        memberId: p.memberId,
        snapshotCount: p.cfg.snapshotCount,
        maxSnapshots: p.cfg.maxSnapshots,
        confState: () => this.confState,
        membership: () => this.applier.membership(),
        // A snapshot cut short by a graceful stop (WAL or backend closed under it) is not a fault.
        onFatal: (err) => (this.stopped ? p.logger.warn({ error: err.message }, "snapshot abandoned at shutdown") : this.fatal("failed to save snapshot", err)),
      },
      p.appliedIndex,
    );
    // A failed commit leaves memory ahead of the backend file: stop now, not at the next write.
    p.backend.onFailure((err) => this.fatal("failed to commit a backend transaction", err));
  }

  /**
   * A durable write failed (WAL append or sync, backend commit, snapshot save): exit at once, as
   * etcd does (its lg.Fatal). Nothing not yet durable has been acknowledged; the WAL and the backend
   * on disk are consistent, and a restart recovers from them.
   */
  private fatal(msg: string, err: unknown): void {
    this.p.logger.fatal({ "local-member-id": idToHex(this.memberId), error: err instanceof Error ? err.message : String(err) }, msg);
    process.exit(1);
  }

  start(): void {
    const ps = this.p.node.status();
    this.term = ps.hardState.term;
    this.commitIndex = ps.hardState.commit;
    this.loop.start(this.p.cfg.heartbeatIntervalMs);
    this.compactor.start();
    this.leases.start();
    this.campaignWhenApplied = true;
  }

  /** Resolves once this member has published itself through raft and can serve clients. */
  readyNotify(): Promise<void> {
    return this.publisher.ready();
  }

  /** Called when this member learns it was removed: the process should stop. */
  setOnRemoved(f: () => void): void {
    this.onRemovedFromCluster = f;
  }

  /**
   * Before a graceful stop: a leader with peers hands leadership to the most up-to-date voter, so the
   * cluster does not wait an election timeout (etcd's "leadership transfer on shutdown"). The peer
   * listener must still be open: the old leader learns of the new one through it.
   */
  async transferLeadershipForShutdown(): Promise<void> {
    if (this.stopped || this.lead !== this.memberId || this.confState.voters.length <= 1) return;
    const st = this.p.node.status();
    const target = [...(st.progress ?? new Map()).entries()]
      .filter(([id, pr]) => id !== this.memberId && !pr.isLearner)
      .sort((a, b) => b[1].match - a[1].match)[0]?.[0];
    if (target === undefined) return;
    try {
      await this.moveLeader(target, this.p.cfg.electionTimeoutMs * 2);
      this.p.logger.info({ "new-leader": idToHex(target) }, "leadership transferred before shutdown");
    } catch (e) {
      this.p.logger.warn({ error: (e as Error).message }, "leadership transfer before shutdown failed");
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.transport.close();
    this.compactor.stop();
    this.leases.stop();
    this.watchable.close();
    this.reads.stop();
    this.proposer.leaderKnown(); // proposals waiting for a leader see the stop and fail with ErrStopped
    await this.loop.stop();
    this.waits.failAll(ErrStopped);
    await this.p.store.close();
    await this.p.closeStorage();
  }

  // ---- requests -------------------------------------------------------------------------

  header(revision?: number): Header {
    return { clusterId: this.applier.membership().clusterId, memberId: this.memberId, revision: revision ?? this.p.store.currentRevision(), raftTerm: this.term };
  }

  // `signal`: the request's context (request-context.ts); when it aborts, waiting stops with etcd's answer.

  async range(req: kv.RangeRequest, signal?: AbortSignal): Promise<Applied<kv.RangeResponse>> {
    if (!req.serializable) await this.reads.wait(signal);
    const response = applyRange(this.p.store, req);
    return { header: this.header(response.revision), response };
  }

  async put(raw: Uint8Array, signal?: AbortSignal): Promise<Applied<kv.PutResponse>> {
    this.checkQuota();
    const response = (await this.propose(ProposalKind.Put, raw, signal)) as kv.PutResponse;
    return { header: this.header(response.revision), response };
  }

  async deleteRange(raw: Uint8Array, signal?: AbortSignal): Promise<Applied<kv.DeleteRangeResponse>> {
    const response = (await this.propose(ProposalKind.DeleteRange, raw, signal)) as kv.DeleteRangeResponse;
    return { header: this.header(response.revision), response };
  }

  async txn(raw: Uint8Array, req: kv.TxnRequest, signal?: AbortSignal): Promise<Applied<kv.TxnResponse>> {
    if (isTxnReadOnly(req)) {
      if (!isTxnSerializable(req)) await this.reads.wait(signal);
      const response = applyTxn(this.p.store, this.p.store.consistentIndex(), req, this.leases.lessor.hooks);
      return { header: this.header(response.revision), response };
    }
    if (txnHasPut(req)) this.checkQuota();
    const response = (await this.propose(ProposalKind.Txn, raw, signal)) as kv.TxnResponse;
    return { header: this.header(response.revision), response };
  }

  async compact(raw: Uint8Array, physical: boolean, signal?: AbortSignal): Promise<Applied<undefined>> {
    const r = (await this.propose(ProposalKind.Compaction, raw, signal)) as CompactResult;
    if (physical) await r.done;
    return { header: this.header(r.revision), response: undefined };
  }

  /** A compaction the server decides on itself (auto compaction), through raft like a client's. */
  private async compactInternal(revision: number): Promise<void> {
    const raw = serviceDefinition("etcdserverpb", "KV").Compact!.requestSerialize({ revision, physical: false });
    await this.compact(raw, false);
  }

  private propose(kind: ProposalKind, payload: Uint8Array, signal?: AbortSignal): Promise<ApplyValue> {
    return this.proposer.propose(kind, payload, signal);
  }

  private checkQuota(): void {
    if (this.alarms.includes("NOSPACE")) throw ErrNoSpace;
    if (this.p.backend.size() > this.quotaBytes) {
      this.alarms.push("NOSPACE");
      this.p.logger.warn({ "quota-size-bytes": this.quotaBytes }, "alarm raised: database space exceeded");
      throw ErrNoSpace;
    }
  }

  // ---- status ---------------------------------------------------------------------------

  members(): Member[] {
    return sortedMembers(this.applier.membership());
  }

  isLearner(): boolean {
    return this.applier.membership().members.get(this.memberId)?.isLearner ?? false;
  }

  membership(): Cluster {
    return this.applier.membership();
  }

  clusterId(): bigint {
    return this.applier.membership().clusterId;
  }

  leader(): bigint {
    return this.lead;
  }

  status(): StatusInfo {
    const size = this.p.backend.size();
    return {
      header: this.header(),
      version: API_VERSION,
      dbSize: size,
      dbSizeInUse: this.p.backend.sizeInUse ? this.p.backend.sizeInUse() : size,
      leader: this.lead,
      raftIndex: this.commitIndex,
      raftTerm: this.term,
      raftAppliedIndex: this.applier.appliedIndex,
      errors: this.alarms.map((a) => (a === "NOSPACE" ? "memberID:" + this.memberId.toString() + " alarm:NOSPACE " : a)),
      isLearner: this.applier.membership().members.get(this.memberId)?.isLearner ?? false,
    };
  }

  /** etcd's /health. */
  health(): Promise<HealthResult> {
    return checkHealth({ hasLeader: this.lead !== NONE, alarms: this.alarms, range: (r) => this.range(r) });
  }

  hashKV(revision: number): { hash: number; compactRevision: number; rev: number } {
    return this.p.store.hashKV(revision);
  }

  // ---- membership -----------------------------------------------------------------------

  async memberAdd(peerUrls: readonly string[], isLearner: boolean, signal?: AbortSignal): Promise<{ member: Member; members: Member[] }> {
    checkMemberAdd(this.reconfigView(), peerUrls, isLearner);
    const member: Member = { id: computeMemberId(peerUrls, this.p.cfg.initialClusterToken, Math.floor(Date.now() / 1000)), name: "", peerUrls: [...peerUrls], clientUrls: [], isLearner };
    await this.proposer.proposeConfChange(isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, member.id, member, signal);
    return { member, members: this.members() };
  }

  async memberRemove(id: bigint, signal?: AbortSignal): Promise<Member[]> {
    const m = checkMemberRemove(this.reconfigView(), id);
    await this.proposer.proposeConfChange(ConfChangeType.RemoveNode, id, m, signal);
    return this.members();
  }

  async memberUpdate(id: bigint, peerUrls: readonly string[], signal?: AbortSignal): Promise<Member[]> {
    const m = checkMemberUpdate(this.applier.membership().members, id, peerUrls);
    await this.proposer.proposeConfChange(ConfChangeType.UpdateNode, id, { ...m, peerUrls: [...peerUrls] }, signal);
    return this.members();
  }

  async memberPromote(id: bigint, signal?: AbortSignal): Promise<Member[]> {
    const m = checkPromotable(this.applier.membership().members, id);
    if (this.lead !== this.memberId) throw this.lead === NONE ? ErrNoLeader : ErrNotLeader;
    const st = this.p.node.status();
    checkLearnerReady(st.progress?.get(id)?.match ?? 0, st.hardState.commit);
    await this.proposer.proposeConfChange(ConfChangeType.AddNode, id, { ...m, isLearner: false }, signal);
    return this.members();
  }

  private reconfigView(): ReconfigView {
    return {
      members: this.applier.membership().members,
      selfId: this.memberId,
      strict: this.p.cfg.strictReconfigCheck,
      activeSince: (id) => this.transport.activeSince(id),
      now: Date.now(),
    };
  }

  /** Transfers leadership to `target` and waits until it leads (etcd's MoveLeader). */
  async moveLeader(target: bigint, timeoutMs = this.requestTimeoutMs, signal?: AbortSignal): Promise<void> {
    if (this.lead !== this.memberId) throw this.lead === NONE ? ErrNoLeader : ErrNotLeader;
    if (target === this.memberId) return;
    if (!this.confState.voters.includes(target)) throw ErrBadLeaderTransferee;
    this.p.logger.info({ "old-leader-member-id": idToHex(this.memberId), "new-leader-member-id": idToHex(target) }, "leadership transfer starting");
    this.p.node.transferLeader(target);
    this.loop.kick();
    const deadline = Date.now() + timeoutMs;
    while (this.lead !== target) {
      // etcd's MoveLeader answers this when its context ends, too
      if (Date.now() >= deadline || signal?.aborted) throw ErrTimeoutLeaderTransfer;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // ---- peer transport (PeerReceiver) ------------------------------------------------------

  localIdentity() {
    const c = this.applier.membership();
    return { clusterId: c.clusterId, memberId: this.memberId, removed: c.removed };
  }

  isMember(id: bigint): boolean {
    const c = this.applier.membership();
    return c.members.has(id) && !c.removed.has(id);
  }

  receive(m: Message): void {
    if (this.stopped) return;
    if (m.type === MessageType.Prop) {
      const why = checkForwardedProposal(m);
      if (why) {
        this.peerWarnings.log(`proposal:${m.from}`, { "remote-peer-id": idToHex(m.from), reason: why }, "dropping a forwarded proposal that this member would not propose");
        return;
      }
    }
    try {
      this.p.node.step(m);
    } catch {
      return; // messages from unknown peers or stale terms are not errors of ours
    }
    this.loop.kick();
  }

  async receiveSnapshot(m: Message): Promise<void> {
    this.p.logger.info({ "snapshot-index": m.snapshot?.metadata.index ?? 0, from: idToHex(m.from) }, "received and saved database snapshot");
    this.receive(m);
  }

  snapshotDir(): string {
    return snapDirOf(this.p.cfg);
  }

  /** Raft accepted a snapshot from the leader (already persisted by the loop): swap in its database. */
  private async applyReceivedSnapshot(snap: Snapshot): Promise<void> {
    const index = snap.metadata.index;
    failpoint("raftAfterSaveHardState");
    this.p.store.setLeaseHooks(undefined); // the old lessor must not see the new state's keys
    await swapInSnapshotDb(this.p.store, this.snapshotDir(), index);
    // the backend's lease bucket changed with it: reload the lessor, then re-attach the keys
    this.leases.lessor.recover();
    this.p.store.setLeaseHooks(this.leases.lessor.hooks);
    this.watchable.restored();
    const cluster = decodeCluster(snap.data);
    this.applier.reset(cluster, index, snap.metadata.term);
    this.confState = snap.metadata.confState;
    this.snapshotter.installed(index);
    this.onClusterChanged(cluster);
    failpoint("serverAfterApplySnap");
    await releaseSnapDbs(this.snapshotDir(), this.p.store.consistentIndex());
    this.p.logger.info({ "snapshot-index": index, revision: this.p.store.currentRevision() }, "applied snapshot from leader");
  }

  onMemberRemoved(listener: (id: bigint) => void): void {
    this.removalListeners.push(listener);
  }

  private onClusterChanged(c: Cluster): void {
    for (const id of c.removed) {
      if (this.announcedRemovals.has(id)) continue;
      this.announcedRemovals.add(id);
      for (const l of this.removalListeners) l(id);
    }
    this.transport.setPeers(sortedMembers(c));
    if (c.removed.has(this.memberId) || (!c.members.has(this.memberId) && c.members.size > 0 && this.publisher.published)) this.removedFromCluster();
  }

  private removedFromCluster(): void {
    if (this.stopped) return;
    this.p.logger.warn({ "local-member-id": idToHex(this.memberId) }, "the member has been permanently removed from the cluster");
    this.onRemovedFromCluster();
  }

  // ---- raft events ----------------------------------------------------------------------

  private onSoftState(ss: SoftState): void {
    const hadLeader = this.lead !== NONE;
    if (ss.lead === this.memberId && this.lead !== this.memberId) this.leadElectedAt = Date.now();
    if (ss.lead !== this.lead) {
      if (ss.lead !== NONE) this.p.metrics.leaderChanges.inc();
      this.p.logger.info(
        { "local-member-id": idToHex(this.memberId), "new-leader": idToHex(ss.lead), term: this.p.node.status().hardState.term },
        ss.lead === NONE ? "raft lost leader" : hadLeader ? "raft leader changed" : "raft elected leader",
      );
    }
    this.lead = ss.lead;
    if (ss.raftState !== StateType.Leader) this.leases.onNotLeader();
    if (ss.lead !== NONE) this.proposer.leaderKnown();
    this.p.metrics.hasLeader.set(ss.lead === NONE ? 0 : 1);
    this.p.metrics.isLeader.set(ss.raftState === StateType.Leader ? 1 : 0);
  }

  private onNoopApplied(_term: number): void {
    // etcd promotes the lessor when the leader has applied everything of earlier terms
    if (this.lead === this.memberId) this.leases.onLeaderReady();
    if (this.lead !== NONE) this.publisher.publishOnce();
    if (this.lead === this.memberId) this.clusterVersion.decideIfUnset();
  }

  private afterAdvance(): void {
    const st = this.p.node.status();
    this.term = st.hardState.term;
    this.commitIndex = st.hardState.commit;
    this.p.metrics.proposalsCommitted.set(this.commitIndex);
    if (this.campaignWhenApplied && this.applier.appliedIndex >= this.commitIndex) {
      // Only now is the voter set known (a restart learns it by replaying conf changes).
      this.campaignWhenApplied = false;
      const lone = this.confState.voters.length === 1 && this.confState.voters[0] === this.memberId;
      if (lone && this.lead === NONE) {
        this.p.logger.info({ "local-member-id": idToHex(this.memberId) }, "as single-node; fast-forwarding election ticks");
        this.p.node.campaign();
        this.loop.kick();
      }
    }
    this.snapshotter.maybeSnapshot(this.applier.appliedIndex);
  }
}
