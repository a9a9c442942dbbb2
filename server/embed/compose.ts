/**
 * The composition root of a member's server: every collaborator is built here, once, and wired to
 * the others. What varies between a process and a test is the environment (the clock that ticks
 * raft, the peer transport, what a fatal error does), so that a test can compose members with
 * another transport and a manual clock (test/support/inproc/ does: several members in one process,
 * raft messages delivered in memory, time advanced by the test). Every timer and timestamp that
 * decides a server's behaviour (raft ticks, lease expiry, read and proposal timeouts, leader
 * election times, peers' activeSince) comes from `env.clock`.
 */
import type { ContextSignal } from "../etcdserver/request-context.js";
import { join } from "node:path";
import { snapDirOf, type MemberConfig } from "../config/member-config.js";
import { backendQuotaBytes, quotaGaugeValue } from "../etcdserver/backend-quota.js";
import type { Logger } from "../log/logger.js";
import { idToHex } from "../membership/ids.js";
import type { Member } from "../membership/cluster.js";
import { sortedMembers } from "../membership/cluster.js";
import { ServerMetrics } from "../metrics/metrics.js";
import { DEFAULT_CHECKPOINT_INTERVAL_MS, Lessor, LEASE_BUCKET, minLeaseTtl } from "../lease/lessor.js";
import { EntryType, type Entry, type Message } from "../raft/types.js";
import { Transport, type TransportHooks } from "../transport/transport.js";
import { PeerDialer } from "../tls/peer-dialer.js";
import { CorruptionCheck } from "../etcdserver/corruption-check.js";
import { membershipAfter } from "../etcdserver/log-membership.js";
import { decodeHashKVAnswer, encodeHashKVRequest, PEER_HASHKV_PATH, type PeerHashKV } from "../etcdserver/peer-hashkv.js";
import { AlarmAction, proposalId } from "../pb/raft-entry.js";
import { AlarmType } from "../etcdserver/alarm-store.js";
import { SYSTEM_CLOCK, type Clock } from "../util/clock.js";
import { WatchableStore } from "../watch/watchable-store.js";
import { ALARM_BUCKET, AlarmStore } from "../etcdserver/alarm-store.js";
import { Applier, type ApplyResult } from "../etcdserver/applier.js";
import { AutoCompactor } from "../etcdserver/auto-compactor.js";
import { BackendMaintenance } from "../etcdserver/backend-maintenance.js";
import type { OpenedMember } from "../etcdserver/bootstrap.js";
import { ClusterVersion } from "../etcdserver/cluster-version.js";
import { IdGenerator } from "../etcdserver/id-generator.js";
import { Leadership } from "../etcdserver/leadership.js";
import { ServerLeases } from "../etcdserver/leases.js";
import { LinearizableReads } from "../etcdserver/linearizable-reads.js";
import { MemberPublisher } from "../etcdserver/member-publisher.js";
import { MembershipChanges } from "../etcdserver/membership-changes.js";
import { ServerPeerReceiver } from "../etcdserver/peer-receiver.js";
import { Proposer } from "../etcdserver/proposer.js";
import { RaftEvents } from "../etcdserver/raft-events.js";
import { RaftKv } from "../etcdserver/raft-kv.js";
import { RaftLoop } from "../etcdserver/raft-loop.js";
import { RaftStatus } from "../etcdserver/raft-status.js";
import { EtcdServer } from "../etcdserver/server.js";
import { SnapshotScheduler } from "../etcdserver/snapshot-scheduler.js";
import { WaitRegistry } from "../etcdserver/wait.js";
import type { AuthStamp, ProposalKind } from "../pb/raft-entry.js";
import { AuthStore } from "../auth/auth-store.js";
import { tokenProviderOf } from "../auth/token-options.js";
import { AppliedWaiter } from "../etcdserver/applied-waiter.js";
import { startElectionTickAdvance } from "../etcdserver/election-tick-advance.js";
import { electionTicksOf } from "../etcdserver/bootstrap.js";

/** What the server needs of the peer transport (transport/transport.ts's Transport, or a test's). */
export interface PeerTransport {
  send(messages: readonly Message[]): void;
  setPeers(members: readonly Member[]): void;
  /** Since when (clock ms) the stream to a peer is up; 0 when it is not. */
  activeSince(id: bigint): number;
  close(): void;
}

export interface ServerEnvironment {
  readonly clock: Clock;
  /** The peer transport for this member, given what it reports back. */
  transport(hooks: TransportHooks): PeerTransport;
  /** A durable write failed, or the raft loop did: the member must stop now (etcd's lg.Fatal). */
  fatal(): void;
  /** A peer's HashKV over its peer URL (etcdserver/peer-hashkv.ts), for the corruption checks. */
  peerHashKV(peerUrl: string, rev: number, timeoutMs: number): Promise<PeerHashKV>;
}

/** A process's environment: the system clock, gRPC streams to the peers, exit on a fatal error. */
export function processEnvironment(memberId: bigint, clusterId: bigint, logger: Logger, peerDialer: PeerDialer = new PeerDialer(undefined)): ServerEnvironment {
  return {
    clock: SYSTEM_CLOCK,
    transport: (hooks) => new Transport(memberId, clusterId, hooks, logger, peerDialer),
    fatal: () => process.exit(1),
    peerHashKV: async (peerUrl, rev, timeoutMs) => {
      const res = await peerDialer.get(`${peerUrl}${PEER_HASHKV_PATH}`, timeoutMs, encodeHashKVRequest(rev));
      return decodeHashKVAnswer(res.status, res.body);
    },
  };
}

/** etcd's ReqTimeout: 5 s + 2 election timeouts. */
export function requestTimeoutMs(cfg: MemberConfig): number {
  return 5000 + 2 * cfg.electionTimeoutMs;
}

/**
 * The parts call each other back (the applier reports membership changes to the raft events, the
 * transport reports snapshots to the loop, ...): these late-bound references close those loops once
 * every part exists.
 */
interface Late {
  loop?: RaftLoop;
  events?: RaftEvents;
  clusterVersion?: ClusterVersion;
  proposer?: Proposer;
  kv?: RaftKv;
}

/** Builds every part of a member's server over its opened state, and the server over them. */
export function composeServer(cfg: MemberConfig, logger: Logger, m: OpenedMember, env: ServerEnvironment): EtcdServer {
  const late: Late = {};
  const state = buildState(cfg, logger, m, env, late);
  const requests = buildRequestPath(cfg, logger, m, env, state, late);
  const raft = buildRaftLoop(cfg, logger, m, env, state, requests, late);
  const { status, membership } = state;
  const { transport, proposer } = requests;
  const kick = () => late.loop?.kick();
  return new EtcdServer({
    memberId: m.memberId,
    heartbeatIntervalMs: cfg.heartbeatIntervalMs,
    metrics: state.metrics,
    status,
    node: m.node,
    loop: raft.loop,
    applier: state.applier,
    waits: state.waits,
    proposer,
    reads: requests.reads,
    kv: requests.kv,
    store: m.store,
    backend: m.backend,
    leases: requests.leases,
    watchable: state.watchable,
    alarms: state.alarms,
    auth: state.auth,
    tokens: state.tokens,
    appliedWaiter: state.appliedWaiter,
    compactor: requests.compactor,
    publisher: requests.publisher,
    events: raft.events,
    membershipChanges: new MembershipChanges({
      status,
      membership,
      node: m.node,
      proposer,
      activeSince: (id) => transport.activeSince(id),
      clock: env.clock,
      initialClusterToken: cfg.initialClusterToken,
      strictReconfigCheck: cfg.strictReconfigCheck,
    }),
    leadership: new Leadership({ status, node: m.node, kick, logger, requestTimeoutMs: requestTimeoutMs(cfg), electionTimeoutMs: cfg.electionTimeoutMs, clock: env.clock }),
    peers: new ServerPeerReceiver({ status, membership, node: m.node, kick, snapDir: snapDirOf(cfg), onMemberRemoved: (l) => raft.events.onMemberRemoved(l), logger }),
    backendMaintenance: new BackendMaintenance({ store: m.store, backend: m.backend, snapDir: snapDirOf(cfg), logger }),
    transport,
    corruptionCheck: buildCorruptionCheck(cfg, logger, m, env, state, requests),
    closeStorage: () => m.closeStorage(),
    startTickAdvance: () =>
      startElectionTickAdvance({
        enabled: cfg.initialElectionTickAdvance,
        memberId: m.memberId,
        electionTicks: electionTicksOf(cfg),
        tickMs: cfg.heartbeatIntervalMs,
        voters: () => status.confState.voters,
        activeSince: (id) => transport.activeSince(id),
        tick: () => m.node.tick(),
        kick,
        clock: env.clock,
        logger,
      }),
  });
}

/**
 * The corruption checks (--experimental-initial-corrupt-check, --experimental-corrupt-check-time).
 * The initial check runs before the log is applied: the members it asks are those the committed
 * log leads to.
 */
function buildCorruptionCheck(cfg: MemberConfig, logger: Logger, m: OpenedMember, env: ServerEnvironment, st: State, rq: RequestPath) {
  const timeoutMs = requestTimeoutMs(cfg);
  const committedMembers = () => {
    const commit = m.storage.hardState().commit;
    const applied = st.applier.appliedIndex;
    const entries = commit > applied ? m.storage.entries(applied + 1, commit + 1, Number.MAX_SAFE_INTEGER) : [];
    return sortedMembers(membershipAfter(st.membership(), st.status.confState, entries).cluster);
  };
  const check = new CorruptionCheck({
    memberId: m.memberId,
    hashKV: (rev) => m.store.hashKV(rev),
    members: committedMembers,
    peerHashKV: (url, rev) => env.peerHashKV(url, rev, timeoutMs),
    linearizableRead: () => rq.reads.wait(),
    isLeader: () => st.status.isLeader(),
    raiseCorrupt: () => rq.kv.alarm(AlarmAction.Activate, 0n, AlarmType.Corrupt),
    logger,
    clock: env.clock,
  });
  return {
    initial: cfg.experimentalInitialCorruptCheck && m.restarted ? () => check.initial() : async () => undefined,
    startPeriodic: () => (cfg.experimentalCorruptCheckTimeMs > 0 ? check.startPeriodic(cfg.experimentalCorruptCheckTimeMs) : () => undefined),
  };
}

type State = ReturnType<typeof buildState>;

/** The state machine and what it is read through: metrics, raft status, lessor, watchers, alarms, the applier. */
function buildState(cfg: MemberConfig, logger: Logger, m: OpenedMember, env: ServerEnvironment, late: Late) {
  const metrics = new ServerMetrics(() => m.backend.size());
  if (cfg.metrics === "extensive") metrics.enableHandlingTimeHistogram();
  metrics.quotaBackendBytes.set(quotaGaugeValue(cfg.quotaBackendBytes));
  const status = new RaftStatus(m.memberId, m.confState);
  const waits = new WaitRegistry<ApplyResult>();
  // the lessor before the KV store attaches its leased keys (etcd: "always recover lessor before kv")
  const lessor = new Lessor(m.backend.bucket(LEASE_BUCKET), {
    minTtl: minLeaseTtl(cfg.heartbeatIntervalMs, cfg.electionTimeoutMs),
    expiredRetryMs: requestTimeoutMs(cfg),
    now: () => env.clock.now(),
    logger: { warn: (msg, f) => logger.warn(f ?? {}, msg) },
    checkpointing: cfg.experimentalEnableLeaseCheckpoint,
    checkpointIntervalMs: leaseCheckpointIntervalMs(logger),
  });
  m.store.setLeaseHooks(lessor.hooks);
  const watchable = new WatchableStore(m.store, { clock: env.clock });
  const alarms = new AlarmStore(m.backend.bucket(ALARM_BUCKET));
  // users and roles are replicated; tokens are this member's own (--auth-token)
  const auth = new AuthStore(m.backend);
  const tokens = tokenProviderOf(cfg.authToken ?? "simple", cfg.authTokenTtlSeconds ?? 300, env.clock);
  auth.setListener(tokens);
  const applier = new Applier({
    store: m.store,
    cluster: m.cluster,
    appliedIndex: m.appliedIndex,
    waits,
    hooks: {
      confState: () => status.confState,
      applyConfChange: (cc) => (status.confState = m.node.applyConfChange(cc)),
      onNoopApplied: (term) => late.events!.onNoopApplied(term),
      onClusterChanged: (c) => late.events!.onClusterChanged(c),
      onClusterVersion: (v) => late.clusterVersion!.applied(v),
    },
    logger,
    leases: lessor.hooks,
    lessor,
    alarms,
    auth,
    tokens,
    warnApplyMs: cfg.experimentalWarningApplyDurationMs,
  });
  const appliedWaiter = new AppliedWaiter(() => applier.appliedIndex);
  return { metrics, status, waits, ids: new IdGenerator(m.memberId, env.clock.now()), lessor, watchable, alarms, auth, tokens, appliedWaiter, applier, membership: () => applier.membership() };
}

type RequestPath = ReturnType<typeof buildRequestPath>;

/** How requests reach raft and come back: the peer transport, proposals, reads, then what is built on them. */
function buildRequestPath(cfg: MemberConfig, logger: Logger, m: OpenedMember, env: ServerEnvironment, st: State, late: Late) {
  const { transport, reads, proposer } = buildRaftAccess(cfg, m, env, st, late);
  return { transport, reads, proposer, ...buildServices(cfg, logger, m, env, st, reads, late) };
}

/** The peer transport, linearizable reads and proposals. */
function buildRaftAccess(cfg: MemberConfig, m: OpenedMember, env: ServerEnvironment, st: State, late: Late) {
  const { status, metrics, applier, membership } = st;
  const kick = () => late.loop?.kick();
  const timeoutMs = requestTimeoutMs(cfg);
  const transport = env.transport({
    reportUnreachable: (id) => m.node.reportUnreachable(id),
    reportSnapshot: (id, ok) => {
      m.node.reportSnapshot(id, ok);
      kick();
    },
    onRemoved: () => late.events!.removedFromCluster(),
    backendCopy: async () => {
      const file = join(snapDirOf(cfg), `outgoing-${process.hrtime.bigint()}.db`);
      await m.backend.backup(file);
      return file;
    },
  });
  transport.setPeers(sortedMembers(m.cluster));
  const reads = new LinearizableReads({
    node: m.node,
    kick,
    appliedIndex: () => applier.appliedIndex,
    timeoutMs,
    onFailed: () => metrics.readIndexFailed.inc(),
    onRetry: () => metrics.slowReadIndex.inc(),
    nextCtx: () => st.ids.nextId(),
    clock: env.clock,
  });
  const proposer = (late.proposer = new Proposer({
    node: m.node,
    waits: st.waits,
    ids: st.ids,
    kick,
    leader: () => status.lead,
    stopped: () => status.stopped,
    metrics,
    maxRequestBytes: cfg.maxRequestBytes,
    timeoutMs,
    clock: env.clock,
    leadership: {
      selfId: m.memberId,
      electionTimeoutMs: cfg.electionTimeoutMs,
      leadElectedAt: () => status.leadElectedAt,
      leader: () => status.lead,
      members: () => sortedMembers(membership()).map((x) => x.id),
      activeSince: (id) => transport.activeSince(id),
    },
  }));
  return { transport, reads, proposer };
}

/** Leases, KV requests, auto compaction, publishing this member, the cluster version. */
function buildServices(cfg: MemberConfig, logger: Logger, m: OpenedMember, env: ServerEnvironment, st: State, reads: LinearizableReads, late: Late) {
  const { status, applier, membership } = st;
  const propose = (kind: ProposalKind, payload: Uint8Array, signal?: ContextSignal, stamp?: AuthStamp) => late.proposer!.propose(kind, payload, signal, stamp);
  const leases = new ServerLeases({
    lessor: st.lessor,
    propose,
    isLeader: () => status.isLeader(),
    commitIndex: () => status.commitIndex,
    appliedIndex: () => applier.appliedIndex,
    waitApplied: (index, signal) => st.appliedWaiter.wait(index, signal),
    checkQuota: (cost) => late.kv!.checkQuota(cost),
    logger,
    electionTimeoutMs: cfg.electionTimeoutMs,
    clock: env.clock,
  });
  const header = (revision?: number) => ({ clusterId: membership().clusterId, memberId: m.memberId, revision: revision ?? m.store.currentRevision(), raftTerm: status.term });
  const kv = (late.kv = new RaftKv({
    memberId: m.memberId,
    store: m.store,
    leaseHooks: () => leases.lessor.hooks,
    propose,
    readIndex: (signal) => reads.wait(signal),
    header,
    dbSize: () => m.backend.size(),
    quotaBytes: backendQuotaBytes(cfg.quotaBackendBytes, logger),
    logger,
  }));
  const compactor = new AutoCompactor(
    cfg.autoCompactionMode,
    AutoCompactor.parseRetention(cfg.autoCompactionMode, cfg.autoCompactionRetention),
    { currentRevision: () => m.store.currentRevision(), compact: (rev) => kv.compactInternal(rev) },
    logger,
    env.clock,
  );
  const publisher = new MemberPublisher({
    memberId: m.memberId,
    name: cfg.name,
    clientUrls: cfg.advertiseClientUrls,
    propose: (kind, payload) => propose(kind, payload),
    clusterId: () => membership().clusterId,
    stopped: () => status.stopped,
    logger,
    clock: env.clock,
  });
  late.clusterVersion = new ClusterVersion({ memberId: m.memberId, clusterId: () => membership().clusterId, propose: (k, payload) => propose(k, payload), logger });
  return { leases, kv, compactor, publisher, clusterVersion: late.clusterVersion };
}

/** The raft loop and its reactions: snapshots, leader changes, membership changes, installing the leader's snapshot. */
function buildRaftLoop(cfg: MemberConfig, logger: Logger, m: OpenedMember, env: ServerEnvironment, st: State, rq: RequestPath, late: Late) {
  const { status, metrics, applier } = st;
  const fatal = (msg: string, err: unknown) => {
    logger.fatal({ "local-member-id": idToHex(m.memberId), error: err instanceof Error ? err.message : String(err) }, msg);
    env.fatal();
  };
  const snapshots = new SnapshotScheduler(
    {
      backend: m.backend,
      storage: m.storage,
      stable: m.stable,
      wal: m.wal,
      snapshots: m.snapshots,
      metrics,
      logger,
      memberId: m.memberId,
      snapshotCount: cfg.snapshotCount,
      maxSnapshots: cfg.maxSnapshots,
      confState: () => status.confState,
      membership: st.membership,
      // A snapshot cut short by a graceful stop (WAL or backend closed under it) is not a fault.
      onFatal: (err) => (status.stopped ? logger.warn({ error: err.message }, "snapshot abandoned at shutdown") : fatal("failed to save snapshot", err)),
    },
    m.appliedIndex,
  );
  const events = (late.events = new RaftEvents({
    status,
    node: m.node,
    kick: () => late.loop?.kick(),
    clock: env.clock,
    metrics,
    logger,
    store: m.store,
    watchable: st.watchable,
    alarms: st.alarms,
    auth: st.auth,
    applier,
    leases: rq.leases,
    proposer: rq.proposer,
    publisher: rq.publisher,
    clusterVersion: rq.clusterVersion,
    snapshots,
    setPeers: (members) => rq.transport.setPeers(members),
    snapDir: snapDirOf(cfg),
  }));
  const loop = (late.loop = new RaftLoop(
    m.node,
    m.storage,
    m.stable,
    {
      applySnapshot: (snap) => events.installSnapshot(snap),
      apply: (entries) => {
        applier.apply(entries);
        metrics.proposalsApplied.set(applier.appliedIndex);
        rq.reads.onApplied();
        st.appliedWaiter.onApplied();
      },
      send: (msgs) => rq.transport.send(msgs),
      proposedHere: (entries) => st.waits.size > 0 && entries.every((e) => proposedHere(st.waits, e)),
      onSoftState: (ss) => events.onSoftState(ss),
      onReadStates: (rs) => rq.reads.onReadStates(rs),
      afterAdvance: () => events.afterAdvance(),
      onFatal: () => env.fatal(),
    },
    logger,
    (s) => metrics.walFsync.observe(s),
    env.clock,
  ));
  // A failed commit leaves memory ahead of the backend file: stop now, not at the next write.
  m.backend.onFailure((err) => fatal("failed to commit a backend transaction", err));
  return { snapshots, events, loop };
}

/** An entry this member proposed, whose client still waits for it. */
function proposedHere(waits: WaitRegistry<ApplyResult>, e: Entry): boolean {
  if (e.type !== EntryType.Normal) return false;
  const id = proposalId(e.data);
  return id !== undefined && waits.has(id);
}

/** etcd's 5-minute checkpoint interval, or (tests only, as etcd's embed LeaseCheckpointInterval) ETCDTS_LEASE_CHECKPOINT_INTERVAL_MS. */
function leaseCheckpointIntervalMs(logger: Logger): number {
  const v = process.env[LEASE_CHECKPOINT_INTERVAL_ENV];
  if (v === undefined || !/^\d+$/.test(v) || Number(v) === 0) return DEFAULT_CHECKPOINT_INTERVAL_MS;
  logger.warn({ "interval-ms": Number(v) }, `${LEASE_CHECKPOINT_INTERVAL_ENV} is set: lease checkpoint interval changed (test only)`);
  return Number(v);
}
const LEASE_CHECKPOINT_INTERVAL_ENV = "ETCDTS_LEASE_CHECKPOINT_INTERVAL_MS";
