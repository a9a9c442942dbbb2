/**
 * Installing a snapshot received from the leader, and start-up's check that the backend is not
 * older than the newest snapshot (etcd's applySnapshot / recoverSnapshotBackend).
 *
 * Order on a follower (each step durable before the next; a crash anywhere is recovered at start):
 *   1. the database is received into a temp file, fsynced, renamed to <snapdir>/%016x.snap.db
 *      (the snapshot index), the directory fsynced (server/snap/db-file.ts);
 *   2. raft gets the MsgSnap; the raft loop writes the .snap file and the WAL snapshot record,
 *      then the hard state (commit = snapshot index);
 *   3. here: the .snap.db file is renamed over the backend (directory fsynced) and reopened.
 * After a crash between 2 and 3 the WAL says "snapshot at S" while the backend's consistent index
 * is below S: start-up finds %016x.snap.db for S and swaps it in before anything is applied. If it
 * is missing, the member refuses to start rather than apply the log after S to an older state.
 */
import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log/logger.js";
import type { MvccStore } from "../mvcc/index.js";
import { listSnapDbs, releaseSnapDbs, snapDbPath } from "../snap/db-file.js";

export class BackendBehindSnapshotError extends Error {
  override readonly name = "BackendBehindSnapshotError";
}

/** Step 3: swap in the database received for the snapshot at `index`. */
export async function swapInSnapshotDb(store: MvccStore, snapDir: string, index: number): Promise<void> {
  const db = snapDbPath(snapDir, index);
  if (!existsSync(db)) throw new BackendBehindSnapshotError(`no database received for the snapshot at index ${index} (expected ${db})`);
  await store.restoreFrom(db, { move: true });
  if (store.consistentIndex() < index) {
    throw new BackendBehindSnapshotError(`the database received for snapshot index ${index} has consistent index ${store.consistentIndex()}`);
  }
}

/**
 * At start, after the newest snapshot (index S, 0 without one) is known: a backend whose consistent
 * index is below S is replaced by the database received for S; neither fitting is fatal. Received
 * databases the backend no longer needs, and temp files of interrupted receptions, are removed.
 */
export async function recoverBackend(store: MvccStore, snapDir: string, snapshotIndex: number, logger: Logger): Promise<void> {
  const ci = store.consistentIndex();
  if (ci < snapshotIndex) {
    const db = snapDbPath(snapDir, snapshotIndex);
    if (!existsSync(db)) {
      const have = await listSnapDbs(snapDir);
      throw new BackendBehindSnapshotError(
        `the backend (consistent index ${ci}) is older than the newest snapshot (index ${snapshotIndex}) and the database received with that snapshot (${db}) is missing` +
          `${have.length > 0 ? ` (received databases present for indexes ${have.join(", ")})` : ""}: refusing to start, since applying the log after the snapshot to this backend would lose writes; restore the member from a backup or remove it and add it again`,
      );
    }
    logger.warn({ "consistent-index": ci, "snapshot-index": snapshotIndex, path: db }, "backend is older than the snapshot; recovering it from the database received with the snapshot");
    await swapInSnapshotDb(store, snapDir, snapshotIndex);
    logger.info({ "consistent-index": store.consistentIndex(), "snapshot-index": snapshotIndex }, "recovered v3 backend from snapshot");
  }
  const removed = await releaseSnapDbs(snapDir, store.consistentIndex(), true);
  // copies of the backend for a snapshot being sent when the member stopped
  for (const n of await readdir(snapDir).catch(() => [] as string[])) {
    if (!/^outgoing-[0-9]+\.db$/.test(n)) continue;
    await rm(join(snapDir, n), { force: true });
    removed.push(n);
  }
  if (removed.length > 0) logger.info({ files: removed }, "removed received snapshot databases the backend no longer needs");
}
