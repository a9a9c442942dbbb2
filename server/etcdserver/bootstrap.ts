import { randomInt } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { snapDirOf, walDirOf, type MemberConfig } from "../config/member-config.js";
import { ConfigError } from "../config/errors.js";
import { validateBootstrap } from "../config/parse.js";
import type { Logger } from "../log/logger.js";
import { decodeCluster, emptyCluster, encodeMember, membersFromJson, type Cluster, type Member } from "../membership/cluster.js";
import { computeClusterId, computeMemberId, idToHex } from "../membership/ids.js";
import { ServerMetrics } from "../metrics/metrics.js";
import { MemoryStorage } from "../raft/memory-storage.js";
import { RawNode } from "../raft/raw-node.js";
import type { ConfState, Entry, HardState, Snapshot } from "../raft/types.js";
import { Wal } from "../wal/wal.js";
import { Snapshotter } from "../snap/snapshotter.js";
import { Backend } from "../backend/index.js";
import { MvccStore } from "../mvcc/index.js";
import type { StableStorage } from "./raft-loop.js";
import { EtcdServer } from "./server.js";
import { recoverBackend } from "./snapshot-install.js";
import { MAX_SIZE_PER_MSG } from "../transport/limits.js";
import { checkBackendWithinLog } from "./storage-consistency.js";
import { touchPrivateDirAll } from "../util/file-modes.js";

/** etcd's backend batch interval (its --backend-batch-interval default, 100 ms). */
const BACKEND_BATCH_INTERVAL_MS = 100;
import { armFailpointsFromEnv, failpoint, FAILPOINT_ENV } from "../util/failpoint.js";

/**
 * Opens or creates a member's state and returns a server ready to start.
 * New member: IDs from the initial cluster (etcd's hashes), a WAL with them as metadata, raft
 * bootstrapped with one conf change per member. Restart: the --initial-* flags are ignored; state
 * comes from the newest snapshot, the WAL after it, and the backend (whose consistent index says
 * which entries it already holds).
 */
export async function bootstrapServer(cfg: MemberConfig, logger: Logger): Promise<EtcdServer> {
  const walDir = walDirOf(cfg);
  const snapDir = snapDirOf(cfg);
  // pino takes (fields, msg); the storage layers log as (msg, fields).
  const fileLog = {
    info: (m: string, f?: Record<string, unknown>) => logger.info(f ?? {}, m),
    warn: (m: string, f?: Record<string, unknown>) => logger.warn(f ?? {}, m),
    error: (m: string, f?: Record<string, unknown>) => logger.error(f ?? {}, m),
  };
  const failpoints = armFailpointsFromEnv();
  if (failpoints) logger.warn({ failpoints }, `${FAILPOINT_ENV} is set: file system faults will be injected (test only)`);
  // etcd's TouchDirAll: private directories, an existing one with a wider mode warned about (and fixed here).
  for (const dir of [cfg.dataDir, join(cfg.dataDir, "member"), snapDir]) touchPrivateDirAll(dir, fileLog);
  if (existsSync(walDir)) touchPrivateDirAll(walDir, fileLog);
  // Batched like etcd's backend (100 ms / 10,000 writes there): one lmdb commit, fsync and main-thread
  // startWriting per batch instead of per put. The WAL, fsynced before apply, holds what a crash loses.
  const backend = await Backend.open(join(snapDir, "db"), { logger: fileLog, batchIntervalMs: BACKEND_BATCH_INTERVAL_MS });
  const store = MvccStore.open(backend);
  const walOptions = { maxWals: cfg.maxWals };
  const snapshotter = new Snapshotter(snapDir, fileLog);
  const storage = new MemoryStorage();

  let memberId: bigint;
  let cluster: Cluster;
  let wal: Wal;
  let appliedIndex = 0;
  let confState: ConfState = { voters: [], learners: [] };
  let bootstrapPeers: { id: bigint; context: Uint8Array }[] | undefined;

  if (Wal.exists(walDir)) {
    // Only a snapshot the WAL has a marker for: a crash between writing the .snap file and the marker leaves an orphan.
    const snap = await snapshotter.loadNewestAvailable(await Wal.validSnapshotEntries(walDir, fileLog));
    const opened = await Wal.open(walDir, snap ? { index: snap.metadata.index, term: snap.metadata.term } : { index: 0, term: 0 }, fileLog, walOptions);
    wal = opened.wal;
    memberId = opened.metadata.memberId;
    cluster = snap ? decodeCluster(snap.data) : emptyCluster(opened.metadata.clusterId);
    // a crash while installing a snapshot from the leader can leave the backend behind it
    await recoverBackend(store, snapDir, snap?.metadata.index ?? 0, logger);
    if (snap) {
      storage.applySnapshot(snap);
      appliedIndex = snap.metadata.index;
      confState = snap.metadata.confState;
    }
    storage.setHardState(opened.hardState);
    storage.append(opened.entries);
    checkBackendWithinLog(
      { consistentIndex: store.consistentIndex(), lastLogIndex: storage.lastIndex(), walDir, backendPath: backend.path, ...(opened.repaired ? { walRepaired: opened.repaired } : {}) },
      fileLog,
    );
    logger.info(
      { "local-member-id": idToHex(memberId), "cluster-id": idToHex(opened.metadata.clusterId), "commit-index": opened.hardState.commit, "snapshot-index": appliedIndex },
      "restarting local member",
    );
  } else if (cfg.initialClusterState === "existing") {
    // Joining: the member was added with `member add`; learn the cluster from a peer that is in it.
    const joined = await fetchClusterFromPeers(cfg);
    const me = [...joined.members.values()].find((m) => sameUrls(m.peerUrls, cfg.initialAdvertisePeerUrls));
    if (!me) {
      throw new ConfigError(
        `this member's --initial-advertise-peer-urls (${cfg.initialAdvertisePeerUrls.join(",")}) are not in the cluster's member list; add it first with 'etcdctl member add ${cfg.name} --peer-urls=${cfg.initialAdvertisePeerUrls.join(",")}'`,
      );
    }
    memberId = me.id;
    cluster = joined;
    wal = await Wal.create(walDir, { memberId, clusterId: joined.clusterId }, fileLog, walOptions);
    logger.info({ "local-member-id": idToHex(memberId), "cluster-id": idToHex(joined.clusterId) }, "joining an existing cluster");
  } else {
    validateBootstrap(cfg);
    const members: Member[] = cfg.initialCluster.map((m) => ({
      id: computeMemberId(m.peerUrls, cfg.initialClusterToken),
      name: m.name,
      peerUrls: m.peerUrls,
      clientUrls: [],
      isLearner: false,
    }));
    const me = members.find((m) => m.name === cfg.name)!;
    memberId = me.id;
    const clusterId = computeClusterId(members.map((m) => m.id));
    cluster = emptyCluster(clusterId);
    wal = await Wal.create(walDir, { memberId, clusterId }, fileLog, walOptions);
    bootstrapPeers = members.map((m) => ({ id: m.id, context: encodeMember({ ...m, clientUrls: [] }) }));
    logger.info({ "local-member-id": idToHex(memberId), "cluster-id": idToHex(clusterId), "initial-cluster": cfg.initialCluster.map((m) => m.name) }, "starting local member");
  }
  const node = new RawNode({
    id: memberId,
    electionTick: Math.max(2, Math.round(cfg.electionTimeoutMs / cfg.heartbeatIntervalMs)),
    heartbeatTick: 1,
    storage,
    applied: appliedIndex,
    maxSizePerMsg: MAX_SIZE_PER_MSG,
    maxInflightMsgs: 512,
    maxUncommittedEntriesSize: 1 << 30,
    checkQuorum: true,
    preVote: cfg.preVote,
    randInt: (n) => randomInt(n),
    logger: { info: (msg, f) => logger.info(f ?? {}, msg), warn: (msg, f) => logger.warn(f ?? {}, msg) },
  });
  if (bootstrapPeers) {
    node.bootstrap(bootstrapPeers);
    confState = { voters: bootstrapPeers.map((p) => p.id), learners: [] };
  } else {
    confState = storage.initialState().confState;
  }

  const metrics = new ServerMetrics(() => backend.size());
  return new EtcdServer({
    cfg,
    logger,
    metrics,
    memberId,
    cluster,
    node,
    storage,
    stable: new DurableLog(wal, snapshotter),
    snapshots: snapshotter,
    wal,
    backend,
    store,
    appliedIndex,
    confState,
    closeStorage: async () => {
      await wal.close();
      await backend.close();
    },
  });
}

function sameUrls(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join(",") === [...b].sort().join(",");
}

/** Asks the peers named in --initial-cluster (other than this member) for the cluster's members, as etcd does on join. */
async function fetchClusterFromPeers(cfg: MemberConfig): Promise<Cluster> {
  const urls = cfg.initialCluster.filter((m) => m.name !== cfg.name).flatMap((m) => m.peerUrls);
  const errors: string[] = [];
  for (const u of urls) {
    try {
      const res = await fetch(`${u}/members`, { signal: AbortSignal.timeout(2000) });
      const cid = res.headers.get("x-etcd-cluster-id");
      if (!res.ok || !cid) throw new Error(`HTTP ${res.status}`);
      return membersFromJson(BigInt("0x" + cid), (await res.json()) as Parameters<typeof membersFromJson>[1]);
    } catch (e) {
      errors.push(`${u}: ${(e as Error).message}`);
    }
  }
  throw new ConfigError(`cannot fetch cluster info from peer urls (${errors.join("; ") || "no peers in --initial-cluster"})`);
}

/** WAL and snapshot files behind one queue, so snapshot markers never interleave with entry writes. */
class DurableLog implements StableStorage {
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
