/**
 * `etcd-ts snapshot restore` (etcdctl's snapshot restore, clientv3/snapshot's v3Manager.Restore):
 * a new member's data dir from a snapshot file, for a NEW cluster whose members and IDs come from
 * the flags (member IDs hash the peer URLs with the token, the cluster ID hashes the member IDs),
 * the same on every member restored with the same flags.
 *
 * What is written, as etcd does:
 *   - member/snap/db: the snapshot's database (digest checked and cut off), its consistent index set
 *     to the number of members (term 1), so that the new log's entries up to there count as applied;
 *   - member/wal: metadata (member ID, cluster ID), one AddNode conf change per member at term 1,
 *     hard state {term 1, vote the first member, commit N}, and a snapshot marker at N;
 *   - member/snap/<term>-<index>.snap: the raft snapshot at N holding the new membership.
 * Keys, revisions, compaction state, leases and alarms come from the snapshot unchanged.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Backend, checkLmdbFile } from "../../backend/index.js";
import { ConfigError } from "../../config/errors.js";
import type { InitialMember } from "../../config/member-config.js";
import { validateBootstrap } from "../../config/parse.js";
import type { Logger } from "../../log/logger.js";
import { encodeCluster, encodeMember, type Member } from "../../membership/cluster.js";
import { computeClusterId, computeMemberId, idToHex } from "../../membership/ids.js";
import { resetConsistentIndex } from "../../mvcc/consistent-index.js";
import { encodeConfChange } from "../../raft/index.js";
import { ConfChangeType, EntryType, type Entry } from "../../raft/types.js";
import { Snapshotter } from "../../snap/index.js";
import { touchPrivateDirAll } from "../../util/file-modes.js";
import { Wal } from "../../wal/index.js";
import { fileLogOf } from "../bootstrap.js";
import { copyDatabase } from "./snapshot-file.js";

export interface RestoreConfig {
  readonly snapshotPath: string;
  readonly name: string;
  readonly dataDir: string;
  readonly walDir: string;
  readonly peerUrls: readonly string[];
  readonly initialCluster: readonly InitialMember[];
  readonly initialClusterToken: string;
  readonly skipHashCheck: boolean;
}

export interface Restored {
  readonly memberId: bigint;
  readonly clusterId: bigint;
}

export async function restoreSnapshot(cfg: RestoreConfig, logger: Logger): Promise<Restored> {
  validateBootstrap({ initialClusterState: "new", initialCluster: cfg.initialCluster, name: cfg.name, initialAdvertisePeerUrls: cfg.peerUrls });
  if (existsSync(cfg.dataDir)) throw new ConfigError(`data-dir "${cfg.dataDir}" exists`);
  if (cfg.walDir !== join(cfg.dataDir, "member", "wal") && existsSync(cfg.walDir)) throw new ConfigError(`wal-dir "${cfg.walDir}" exists`);
  const members: Member[] = cfg.initialCluster.map((m) => ({
    id: computeMemberId(m.peerUrls, cfg.initialClusterToken),
    name: m.name,
    peerUrls: m.peerUrls,
    clientUrls: [],
    isLearner: false,
  }));
  // etcd orders the bootstrap conf changes by member ID
  members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const clusterId = computeClusterId(members.map((m) => m.id));
  const memberId = members.find((m) => m.name === cfg.name)!.id;
  const snapDir = join(cfg.dataDir, "member", "snap");
  const fields = { path: cfg.snapshotPath, "wal-dir": cfg.walDir, "data-dir": cfg.dataDir, "snap-dir": snapDir };
  logger.info(fields, "restoring snapshot");
  const fileLog = fileLogOf(logger);
  for (const dir of [cfg.dataDir, join(cfg.dataDir, "member"), snapDir]) touchPrivateDirAll(dir, fileLog);
  const commit = members.length;
  await saveDb(cfg, join(snapDir, "db"), commit);
  await saveWalAndSnap(cfg, snapDir, { memberId, clusterId }, members, commit, fileLog);
  logger.info({ ...fields, "member-id": idToHex(memberId), "cluster-id": idToHex(clusterId) }, "restored snapshot");
  return { memberId, clusterId };
}

/** The snapshot's database, its consistent index moved to the new log's snapshot index. */
async function saveDb(cfg: RestoreConfig, dbPath: string, commit: number): Promise<void> {
  await copyDatabase(cfg.snapshotPath, dbPath, cfg.skipHashCheck);
  checkLmdbFile(dbPath);
  const be = Backend.open(dbPath);
  try {
    resetConsistentIndex(be.bucket("meta"), commit, 1);
  } finally {
    await be.close();
  }
}

/** The WAL of a cluster just bootstrapped, and its raft snapshot at `commit` holding the membership. */
async function saveWalAndSnap(cfg: RestoreConfig, snapDir: string, ids: Restored, members: readonly Member[], commit: number, fileLog: ReturnType<typeof fileLogOf>): Promise<void> {
  const wal = await Wal.create(cfg.walDir, ids, fileLog);
  try {
    const entries: Entry[] = members.map((m, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: m.id, context: encodeMember(m) }),
    }));
    await wal.save({ term: 1, vote: members[0]!.id, commit }, entries, true);
    const cluster = { clusterId: ids.clusterId, members: new Map(members.map((m) => [m.id, m])), removed: new Set<bigint>() };
    await new Snapshotter(snapDir, fileLog).save({
      metadata: { index: commit, term: 1, confState: { voters: members.map((m) => m.id), learners: [] } },
      data: encodeCluster(cluster),
    });
    await wal.saveSnapshot({ index: commit, term: 1 });
  } finally {
    await wal.close();
  }
}
