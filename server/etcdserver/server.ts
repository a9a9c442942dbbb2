/**
 * The etcd server as the request layer and the composition root see it: a facade over the parts
 * that embed/compose.ts builds and wires (the raft loop, the applier, proposals, linearizable reads,
 * leases, watchers, alarms, membership changes, leadership transfer, the peer receiver). It holds
 * no logic of its own beyond starting and stopping them in order.
 */
import type { ContextSignal } from "./request-context.js";
import type { Cluster, Member } from "../membership/cluster.js";
import { sortedMembers } from "../membership/cluster.js";
import type { ServerMetrics } from "../metrics/metrics.js";
import type { MvccStore } from "../mvcc/index.js";
import { ErrNoLeader, ErrStopped } from "../pb/errors.js";
import type * as kv from "../pb/kv.js";
import type { Header } from "../pb/kv.js";
import { NONE } from "../raft/types.js";
import type { RawNode } from "../raft/raw-node.js";
import type { Backend } from "../backend/index.js";
import type { WatchableStore } from "../watch/watchable-store.js";
import { ALARM_NAMES, alarmText, type AlarmStore } from "./alarm-store.js";
import type { Applier, AlarmResult, ApplyResult, AuthResult } from "./applier.js";
import type { AuthStamp } from "../pb/raft-entry.js";
import type { AuthRequest } from "../pb/auth-entry.js";
import type { AuthStore } from "../auth/auth-store.js";
import type { TokenProvider } from "../auth/token-provider.js";
import type { AppliedWaiter } from "./applied-waiter.js";
import type { AutoCompactor } from "./auto-compactor.js";
import type { BackendMaintenance, SnapshotChunk } from "./backend-maintenance.js";
import { checkHealth, type HealthResult } from "./health.js";
import type { Leadership } from "./leadership.js";
import type { ServerLeases } from "./leases.js";
import type { LinearizableReads } from "./linearizable-reads.js";
import type { MemberPublisher } from "./member-publisher.js";
import type { MembershipChanges } from "./membership-changes.js";
import type { ServerPeerReceiver } from "./peer-receiver.js";
import type { Proposer } from "./proposer.js";
import type { RaftEvents } from "./raft-events.js";
import type { Applied, RaftKv } from "./raft-kv.js";
import type { RaftLoop } from "./raft-loop.js";
import type { RaftStatus } from "./raft-status.js";
import type { WaitRegistry } from "./wait.js";

export const API_VERSION = "3.4.0";
export { CLUSTER_VERSION } from "./cluster-version.js";
export type { Header } from "../pb/kv.js";
export type { Applied } from "./raft-kv.js";

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

/** Everything the server is made of (built by embed/compose.ts). */
export interface EtcdServerParts {
  readonly memberId: bigint;
  readonly heartbeatIntervalMs: number;
  readonly metrics: ServerMetrics;
  readonly status: RaftStatus;
  readonly node: RawNode;
  readonly loop: RaftLoop;
  readonly applier: Applier;
  readonly waits: WaitRegistry<ApplyResult>;
  readonly proposer: Proposer;
  readonly reads: LinearizableReads;
  readonly kv: RaftKv;
  readonly store: MvccStore;
  readonly backend: Backend;
  readonly leases: ServerLeases;
  readonly watchable: WatchableStore;
  readonly alarms: AlarmStore;
  readonly auth: AuthStore;
  readonly tokens: TokenProvider;
  readonly appliedWaiter: AppliedWaiter;
  readonly compactor: AutoCompactor;
  readonly publisher: MemberPublisher;
  readonly events: RaftEvents;
  readonly membershipChanges: MembershipChanges;
  readonly leadership: Leadership;
  readonly peers: ServerPeerReceiver;
  readonly backendMaintenance: BackendMaintenance;
  readonly transport: { close(): void };
  /** The corruption checks: the initial one (a no-op unless enabled for a restarting member), and the leader's periodic one (returns its stop). */
  readonly corruptionCheck?: { initial(): Promise<void>; startPeriodic(): () => void };
  /** Closes the WAL and the backend (after the loop has stopped). */
  readonly closeStorage: () => Promise<void>;
  /** Fast-forwards the election clock once peers connect (election-tick-advance.ts); returns its stop. */
  readonly startTickAdvance?: () => () => void;
}

export class EtcdServer {
  private stopTickAdvance: (() => void) | undefined;
  private stopCorruptionCheck: (() => void) | undefined;
  readonly memberId: bigint;
  readonly metrics: ServerMetrics;
  /** Lease API (lessor, grant/revoke through raft, expiry). */
  readonly leases: ServerLeases;
  /** Watchers over this member's MVCC store. */
  readonly watchable: WatchableStore;
  /** The cluster's alarms (changed through raft, kept in the backend). */
  readonly alarms: AlarmStore;
  /** The cluster's users, roles and permissions (changed through raft, kept in the backend). */
  readonly auth: AuthStore;
  /** This member's token provider (--auth-token): tokens are per member. */
  readonly tokens: TokenProvider;
  /** What the peer transport delivers to (transport's PeerReceiver). */
  readonly peers: ServerPeerReceiver;

  constructor(private readonly p: EtcdServerParts) {
    this.memberId = p.memberId;
    this.metrics = p.metrics;
    this.leases = p.leases;
    this.watchable = p.watchable;
    this.alarms = p.alarms;
    this.auth = p.auth;
    this.tokens = p.tokens;
    this.peers = p.peers;
  }

  /** etcd's CheckInitialHashKV, before start: throws `<id> found data inconsistency with peers` on a mismatch. */
  checkInitialHashKV(): Promise<void> {
    return this.p.corruptionCheck?.initial() ?? Promise.resolve();
  }

  start(): void {
    const hs = this.p.node.status().hardState;
    this.p.status.term = hs.term;
    this.p.status.commitIndex = hs.commit;
    this.p.loop.start(this.p.heartbeatIntervalMs);
    this.p.compactor.start();
    this.p.leases.start();
    this.p.events.started();
    this.stopTickAdvance = this.p.startTickAdvance?.();
    this.stopCorruptionCheck = this.p.corruptionCheck?.startPeriodic();
  }

  /** Resolves once this member has published itself through raft and can serve clients. */
  readyNotify(): Promise<void> {
    return this.p.publisher.ready();
  }

  /** Called when this member learns it was removed: the process should stop. */
  setOnRemoved(f: () => void): void {
    this.p.events.setOnRemoved(f);
  }

  /** Before a graceful stop, while the peer listener is still open: hand leadership over. */
  transferLeadershipForShutdown(): Promise<void> {
    return this.p.leadership.transferForShutdown();
  }

  async stop(): Promise<void> {
    const p = this.p;
    if (p.status.stopped) return;
    p.status.stopped = true;
    this.stopTickAdvance?.();
    this.stopCorruptionCheck?.();
    p.transport.close();
    p.compactor.stop();
    p.leases.stop();
    p.watchable.close();
    p.reads.stop();
    p.proposer.leaderKnown(); // proposals waiting for a leader see the stop and fail with ErrStopped
    await p.loop.stop();
    p.waits.failAll(ErrStopped);
    await p.store.close();
    await p.closeStorage();
  }

  // ---- requests (the request layer's) ----------------------------------------------------

  header(revision?: number): Header {
    return { clusterId: this.p.applier.membership().clusterId, memberId: this.memberId, revision: revision ?? this.p.store.currentRevision(), raftTerm: this.p.status.term };
  }

  range(req: kv.RangeRequest, signal?: ContextSignal): Promise<Applied<kv.RangeResponse>> {
    return this.p.kv.range(req, signal);
  }

  // `stamp`: who a client's request acts for, checked again at apply (pb/raft-entry.ts AuthStamp)

  put(raw: Uint8Array, signal?: ContextSignal, stamp?: AuthStamp): Promise<Applied<kv.PutResponse>> {
    return this.p.kv.put(raw, signal, stamp);
  }

  deleteRange(raw: Uint8Array, signal?: ContextSignal, stamp?: AuthStamp): Promise<Applied<kv.DeleteRangeResponse>> {
    return this.p.kv.deleteRange(raw, signal, stamp);
  }

  txn(raw: Uint8Array, req: kv.TxnRequest, signal?: ContextSignal, stamp?: AuthStamp): Promise<Applied<kv.TxnResponse>> {
    return this.p.kv.txn(raw, req, signal, stamp);
  }

  compact(raw: Uint8Array, physical: boolean, signal?: ContextSignal, stamp?: AuthStamp): Promise<Applied<undefined>> {
    return this.p.kv.compact(raw, physical, signal, stamp);
  }

  alarm(action: number, memberId: bigint, alarm: number, signal?: AbortSignal, stamp?: AuthStamp): Promise<AlarmResult> {
    return this.p.kv.alarm(action, memberId, alarm, signal, stamp);
  }

  /** An auth change or an Authenticate through raft. */
  authRequest(r: AuthRequest, signal?: AbortSignal, stamp?: AuthStamp): Promise<AuthResult> {
    return this.p.kv.auth(r, signal, stamp);
  }

  /** Resolves once this member has applied `index` (a simple token names the entry that issued it). */
  waitApplied(index: number, signal?: AbortSignal): Promise<void> {
    return this.p.appliedWaiter.wait(index, signal);
  }

  /** Resolves once a linearizable read may be served here (etcd's linearizableReadNotify). */
  linearizableRead(signal?: ContextSignal): Promise<void> {
    return this.p.reads.wait(signal);
  }

  appliedIndex(): number {
    return this.p.applier.appliedIndex;
  }

  memberAdd(peerUrls: readonly string[], isLearner: boolean, signal?: AbortSignal): Promise<{ member: Member; members: Member[] }> {
    return this.p.membershipChanges.add(peerUrls, isLearner, signal);
  }

  memberRemove(id: bigint, signal?: AbortSignal): Promise<Member[]> {
    return this.p.membershipChanges.remove(id, signal);
  }

  memberUpdate(id: bigint, peerUrls: readonly string[], signal?: AbortSignal): Promise<Member[]> {
    return this.p.membershipChanges.update(id, peerUrls, signal);
  }

  memberPromote(id: bigint, signal?: AbortSignal): Promise<Member[]> {
    return this.p.membershipChanges.promote(id, signal);
  }

  /** Transfers leadership to `target` and waits until it leads (etcd's MoveLeader). */
  moveLeader(target: bigint, timeoutMs?: number, signal?: AbortSignal): Promise<void> {
    return this.p.leadership.moveLeader(target, timeoutMs, signal);
  }

  hashKV(revision: number): { hash: number; compactRevision: number; rev: number } {
    return this.p.store.hashKV(revision);
  }

  /** etcd's Hash of this member's whole backend. */
  hash(): Promise<{ hash: number; revision: number }> {
    return this.p.backendMaintenance.hash();
  }

  /** etcd's Defragment of this member's backend (file sizes before and after). */
  defragment(): Promise<{ before: number; after: number }> {
    return this.p.backendMaintenance.defragment();
  }

  /** etcd's Snapshot of this member's backend: chunks, then the SHA-256 trailer. */
  snapshot(signal: AbortSignal): AsyncGenerator<SnapshotChunk> {
    return this.p.backendMaintenance.snapshot(signal);
  }

  // ---- status ---------------------------------------------------------------------------

  members(): Member[] {
    return sortedMembers(this.p.applier.membership());
  }

  membership(): Cluster {
    return this.p.applier.membership();
  }

  isLearner(): boolean {
    return this.p.applier.membership().members.get(this.memberId)?.isLearner ?? false;
  }

  clusterId(): bigint {
    return this.p.applier.membership().clusterId;
  }

  leader(): bigint {
    return this.p.status.lead;
  }

  status(): StatusInfo {
    const { backend, status, applier } = this.p;
    const size = backend.size();
    return {
      header: this.header(),
      version: API_VERSION,
      dbSize: size,
      dbSizeInUse: backend.sizeInUse ? backend.sizeInUse() : size,
      leader: status.lead,
      raftIndex: status.commitIndex,
      raftTerm: status.term,
      raftAppliedIndex: applier.appliedIndex,
      // etcd's maintenanceServer.Status: "no leader" first, then every alarm
      errors: [...(status.lead === NONE ? [ErrNoLeader.message] : []), ...this.p.alarms.get().map(alarmText)],
      isLearner: this.isLearner(),
    };
  }

  /** etcd's /health. */
  health(): Promise<HealthResult> {
    const alarms = this.p.alarms.get().map((a) => ALARM_NAMES[a.alarm] ?? String(a.alarm));
    return checkHealth({ hasLeader: this.p.status.lead !== NONE, alarms, range: (r) => this.range(r) });
  }
}
