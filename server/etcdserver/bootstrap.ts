/**
 * Opens or creates a member's state: its backend and MVCC store, its WAL and snapshot files, and the
 * raft node over them. It builds nothing else (embed/compose.ts wires the server from what this
 * returns).
 *
 * New member: IDs from the initial cluster (etcd's hashes), a WAL with them as metadata, raft
 * bootstrapped with one conf change per member. Joining (--initial-cluster-state existing): the
 * cluster is learned from a peer. Restart: the --initial-* flags are ignored; state comes from the
 * newest snapshot, the WAL after it, and the backend (whose consistent index says which entries it
 * already holds).
 */
import { randomInt } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { snapDirOf, walDirOf, type MemberConfig } from "../config/member-config.js";
import { ConfigError } from "../config/errors.js";
import { parseInitialCluster, validateBootstrap } from "../config/parse.js";
import type { InitialMember } from "../config/member-config.js";
import { joinCluster } from "../discovery/v2-discovery.js";
import { DiscoveryError } from "../discovery/discovery-error.js";
import type { Logger } from "../log/logger.js";
import { decodeCluster, emptyCluster, encodeMember, membersFromJson, type Cluster, type Member } from "../membership/cluster.js";
import { computeClusterId, computeMemberId, idToHex } from "../membership/ids.js";
import { MemoryStorage } from "../raft/memory-storage.js";
import { RawNode } from "../raft/raw-node.js";
import type { ConfState, Entry, HardState } from "../raft/types.js";
import { Wal, type WalOpened } from "../wal/wal.js";
import { standaloneLog, withAppliedCommitted } from "./force-new-cluster.js";
import { Snapshotter } from "../snap/snapshotter.js";
import { Backend } from "../backend/index.js";
import { MvccStore } from "../mvcc/index.js";
import { recoverBackend } from "./snapshot-install.js";
import { MAX_SIZE_PER_MSG } from "../transport/limits.js";
import { checkBackendWithinLog } from "./storage-consistency.js";
import { touchPrivateDirAll } from "../util/file-modes.js";
import { PeerDialer } from "../tls/peer-dialer.js";
import { armFailpointsFromEnv, FAILPOINT_ENV } from "../util/failpoint.js";
import { DurableLog } from "./durable-log.js";
import type { StableStorage } from "./raft-loop.js";

/** A member's state, opened: what the server is built from. */
export interface OpenedMember {
  readonly memberId: bigint;
  readonly cluster: Cluster;
  readonly node: RawNode;
  /** Raft's log as the node reads it. */
  readonly storage: MemoryStorage;
  /** Where the raft loop persists: the WAL and the snapshot files, behind one queue (a DurableLog). */
  readonly stable: StableStorage;
  readonly snapshots: Snapshotter;
  readonly wal: Wal;
  readonly backend: Backend;
  readonly store: MvccStore;
  /** Index the state machine was restored to (the newest snapshot's). */
  readonly appliedIndex: number;
  readonly confState: ConfState;
  /** It had a WAL (etcd's memberInitialized): only such a member runs the initial corruption check. */
  readonly restarted: boolean;
  /** Closes the WAL and the backend (after the loop has stopped). */
  closeStorage(): Promise<void>;
}

/** pino takes (fields, msg); the storage layers log as (msg, fields). */
export function fileLogOf(logger: Logger) {
  return {
    info: (m: string, f?: Record<string, unknown>) => logger.info(f ?? {}, m),
    warn: (m: string, f?: Record<string, unknown>) => logger.warn(f ?? {}, m),
    error: (m: string, f?: Record<string, unknown>) => logger.error(f ?? {}, m),
  };
}

type FileLog = ReturnType<typeof fileLogOf>;

interface Recovered {
  memberId: bigint;
  cluster: Cluster;
  wal: Wal;
  appliedIndex: number;
  bootstrapPeers?: { id: bigint; context: Uint8Array }[];
}

/** What a test may vary when opening a member (test/support/inproc/): the randomness of raft's election timeouts. */
export interface OpenOptions {
  /** A random integer in [0, n): raft's randomized election timeout (default: node:crypto's randomInt). */
  readonly randInt?: (n: number) => number;
}

export async function openMember(cfg: MemberConfig, logger: Logger, peerDialer: PeerDialer = new PeerDialer(undefined), options: OpenOptions = {}): Promise<OpenedMember> {
  const walDir = walDirOf(cfg);
  const snapDir = snapDirOf(cfg);
  const fileLog = fileLogOf(logger);
  const failpoints = armFailpointsFromEnv();
  if (failpoints) logger.warn({ failpoints }, `${FAILPOINT_ENV} is set: file system faults will be injected (test only)`);
  // etcd's TouchDirAll: private directories, an existing one with a wider mode warned about (and fixed here).
  for (const dir of [cfg.dataDir, join(cfg.dataDir, "member"), snapDir]) touchPrivateDirAll(dir, fileLog);
  if (existsSync(walDir)) touchPrivateDirAll(walDir, fileLog);
  // Batched like etcd's backend (--backend-batch-interval/-limit): one lmdb commit, fsync and main-thread
  // startWriting per batch instead of per put. The WAL, fsynced before apply, holds what a crash loses.
  const backend = await Backend.open(join(snapDir, "db"), { logger: fileLog, batchIntervalMs: cfg.backendBatchIntervalMs, batchLimit: cfg.backendBatchLimit });
  const store = MvccStore.open(backend, { compactionBatchLimit: cfg.experimentalCompactionBatchLimit });
  const snapshots = new Snapshotter(snapDir, fileLog);
  const storage = new MemoryStorage();
  const restarted = Wal.exists(walDir);
  const r = restarted
    ? await restart(cfg, { backend, store, snapshots, storage, fileLog, logger })
    : cfg.initialClusterState === "existing"
      ? await joinExisting(cfg, logger, peerDialer)
      : await bootstrapNew(cfg, logger);
  const node = newRawNode(cfg, r.memberId, storage, r.appliedIndex, logger, options.randInt ?? ((n) => randomInt(n)));
  let confState: ConfState;
  if (r.bootstrapPeers) {
    node.bootstrap(r.bootstrapPeers);
    confState = { voters: r.bootstrapPeers.map((p) => p.id), learners: [] };
  } else {
    confState = storage.initialState().confState;
  }
  return {
    memberId: r.memberId,
    cluster: r.cluster,
    node,
    storage,
    stable: new DurableLog(r.wal, snapshots),
    snapshots,
    wal: r.wal,
    backend,
    store,
    appliedIndex: r.appliedIndex,
    confState,
    restarted,
    closeStorage: async () => {
      await r.wal.close();
      await backend.close();
    },
  };
}

interface OpenStorage {
  readonly backend: Backend;
  readonly store: MvccStore;
  readonly snapshots: Snapshotter;
  readonly storage: MemoryStorage;
  readonly fileLog: FileLog;
  readonly logger: Logger;
}

/** A WAL exists: the newest snapshot the WAL has a marker for, then the entries after it. */
async function restart(cfg: MemberConfig, s: OpenStorage): Promise<Recovered> {
  const walDir = walDirOf(cfg);
  const snapDir = snapDirOf(cfg);
  // Only a snapshot the WAL has a marker for: a crash between writing the .snap file and the marker leaves an orphan.
  const snap = await s.snapshots.loadNewestAvailable(await Wal.validSnapshotEntries(walDir, s.fileLog));
  const opened = await Wal.open(walDir, snap ? { index: snap.metadata.index, term: snap.metadata.term } : { index: 0, term: 0 }, s.fileLog, { maxWals: cfg.maxWals });
  const memberId = opened.metadata.memberId;
  const cluster = snap ? decodeCluster(snap.data) : emptyCluster(opened.metadata.clusterId);
  // a crash while installing a snapshot from the leader can leave the backend behind it
  await recoverBackend(s.store, snapDir, snap?.metadata.index ?? 0, s.logger);
  let appliedIndex = 0;
  if (snap) {
    s.storage.applySnapshot(snap);
    appliedIndex = snap.metadata.index;
  }
  const { hardState, entries } = cfg.forceNewCluster ? await forceStandalone(memberId, opened, snap?.metadata.confState, s.store.consistentIndex(), s.logger) : opened;
  s.storage.setHardState(hardState);
  s.storage.append(entries);
  checkBackendWithinLog(
    { consistentIndex: s.store.consistentIndex(), lastLogIndex: s.storage.lastIndex(), walDir, backendPath: s.backend.path, ...(opened.repaired ? { walRepaired: opened.repaired } : {}) },
    s.fileLog,
  );
  s.logger.info(
    { "local-member-id": idToHex(memberId), "cluster-id": idToHex(opened.metadata.clusterId), "commit-index": hardState.commit, "snapshot-index": appliedIndex },
    cfg.forceNewCluster ? "forcing restart member" : "restarting local member",
  );
  return { memberId, cluster, wal: opened.wal, appliedIndex };
}

/** --force-new-cluster (force-new-cluster.ts): the conf changes that leave this member alone, durable and committed before raft starts. */
async function forceStandalone(memberId: bigint, opened: WalOpened, snapshotConf: ConfState | undefined, appliedIndex: number, logger: Logger): Promise<{ hardState: HardState; entries: Entry[] }> {
  const log = standaloneLog(memberId, snapshotConf, opened.entries, withAppliedCommitted(opened.hardState, opened.entries, appliedIndex));
  if (log.discarded > 0) logger.info({ "commit-index-from-wal": opened.hardState.commit, "number-of-discarded-entries": log.discarded }, "discarding uncommitted WAL entries");
  await opened.wal.save(log.hardState, log.appended, true);
  return { hardState: log.hardState, entries: log.entries };
}

/** Joining: the member was added with `member add`; learn the cluster from a peer that is in it. */
async function joinExisting(cfg: MemberConfig, logger: Logger, peerDialer: PeerDialer): Promise<Recovered> {
  const joined = await fetchClusterFromPeers(cfg, peerDialer);
  const me = [...joined.members.values()].find((m) => sameUrls(m.peerUrls, cfg.initialAdvertisePeerUrls));
  if (!me) {
    throw new ConfigError(
      `this member's --initial-advertise-peer-urls (${cfg.initialAdvertisePeerUrls.join(",")}) are not in the cluster's member list; add it first with 'etcdctl member add ${cfg.name} --peer-urls=${cfg.initialAdvertisePeerUrls.join(",")}'`,
    );
  }
  const wal = await Wal.create(walDirOf(cfg), { memberId: me.id, clusterId: joined.clusterId }, fileLogOf(logger), { maxWals: cfg.maxWals });
  logger.info({ "local-member-id": idToHex(me.id), "cluster-id": idToHex(joined.clusterId) }, "joining an existing cluster");
  return { memberId: me.id, cluster: joined, wal, appliedIndex: 0 };
}

/**
 * A new cluster: the IDs are hashes of the initial cluster, raft starts with a conf change per member.
 * With --discovery the initial cluster comes from the discovery service, and the discovery URL is the
 * cluster token (etcd's PeerURLsMapAndToken).
 */
async function bootstrapNew(cfg: MemberConfig, logger: Logger): Promise<Recovered> {
  const discovered = cfg.discovery !== "" ? await discoverCluster(cfg, logger) : undefined;
  const initialCluster = discovered ?? cfg.initialCluster;
  const token = discovered ? cfg.discovery : cfg.initialClusterToken;
  validateBootstrap({ ...cfg, initialCluster });
  const members: Member[] = initialCluster.map((m) => ({
    id: computeMemberId(m.peerUrls, token),
    name: m.name,
    peerUrls: m.peerUrls,
    clientUrls: [],
    isLearner: false,
  }));
  const memberId = members.find((m) => m.name === cfg.name)!.id;
  const clusterId = computeClusterId(members.map((m) => m.id));
  const wal = await Wal.create(walDirOf(cfg), { memberId, clusterId }, fileLogOf(logger), { maxWals: cfg.maxWals });
  logger.info({ "local-member-id": idToHex(memberId), "cluster-id": idToHex(clusterId), "initial-cluster": initialCluster.map((m) => m.name) }, "starting local member");
  return {
    memberId,
    cluster: emptyCluster(clusterId),
    wal,
    appliedIndex: 0,
    bootstrapPeers: members.map((m) => ({ id: m.id, context: encodeMember({ ...m, clientUrls: [] }) })),
  };
}

/** etcd's v2 discovery for a new member: registers {name: its peer URLs} and returns the cluster the service gathered. */
async function discoverCluster(cfg: MemberConfig, logger: Logger): Promise<InitialMember[]> {
  const self = { name: cfg.name, peerUrls: cfg.initialAdvertisePeerUrls };
  // etcd's types.URLsMap.String(): name=url pairs, sorted
  const config = self.peerUrls.map((u) => `${self.name}=${u}`).sort().join(",");
  let found: string;
  try {
    found = await joinCluster({ discoveryUrl: cfg.discovery, proxy: cfg.discoveryProxy, memberId: computeMemberId(self.peerUrls, cfg.discovery), config, logger });
  } catch (e) {
    throw new DiscoveryError("join", e as Error);
  }
  const cluster = parseInitialCluster(found);
  const urls = cluster.flatMap((m) => m.peerUrls);
  if (new Set(urls).size !== urls.length) throw new ConfigError(`discovery cluster ${formatUrlsMap(cluster)} has duplicate url`);
  return cluster;
}

function formatUrlsMap(cluster: readonly InitialMember[]): string {
  return cluster.flatMap((m) => m.peerUrls.map((u) => `${m.name}=${u}`)).sort().join(",");
}

/** The election timeout in ticks of one heartbeat interval. */
export function electionTicksOf(cfg: Pick<MemberConfig, "electionTimeoutMs" | "heartbeatIntervalMs">): number {
  return Math.max(2, Math.round(cfg.electionTimeoutMs / cfg.heartbeatIntervalMs));
}

function newRawNode(cfg: MemberConfig, id: bigint, storage: MemoryStorage, applied: number, logger: Logger, randInt: (n: number) => number): RawNode {
  return new RawNode({
    id,
    electionTick: electionTicksOf(cfg),
    heartbeatTick: 1,
    storage,
    applied,
    maxSizePerMsg: MAX_SIZE_PER_MSG,
    maxInflightMsgs: 512,
    maxUncommittedEntriesSize: 1 << 30,
    checkQuorum: true,
    preVote: cfg.preVote,
    randInt,
    logger: { info: (msg, f) => logger.info(f ?? {}, msg), warn: (msg, f) => logger.warn(f ?? {}, msg) },
  });
}

function sameUrls(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join(",") === [...b].sort().join(",");
}

/** Asks the peers named in --initial-cluster (other than this member) for the cluster's members, as etcd does on join. */
async function fetchClusterFromPeers(cfg: MemberConfig, dialer: PeerDialer): Promise<Cluster> {
  const urls = cfg.initialCluster.filter((m) => m.name !== cfg.name).flatMap((m) => m.peerUrls);
  const errors: string[] = [];
  for (const u of urls) {
    try {
      const res = await dialer.get(`${u}/members`, 2000);
      const cid = res.header("x-etcd-cluster-id");
      if (res.status !== 200 || !cid) throw new Error(`HTTP ${res.status}`);
      return membersFromJson(BigInt("0x" + cid), JSON.parse(res.body) as Parameters<typeof membersFromJson>[1]);
    } catch (e) {
      errors.push(`${u}: ${(e as Error).message}`);
    }
  }
  throw new ConfigError(`cannot fetch cluster info from peer urls (${errors.join("; ") || "no peers in --initial-cluster"})`);
}
