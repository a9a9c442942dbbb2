/**
 * `etcd-ts snapshot status FILE` (etcdctl's snapshot status): the CRC-32C of every bucket's rows,
 * the last revision, the number of rows and the database's size. The file itself is never opened by
 * lmdb (which would create a lock file beside it): its database part is copied to a private temp
 * directory and read there.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Backend, checkLmdbFile } from "../../backend/index.js";
import { digestBackend } from "./backend-hash.js";
import { copyDatabase, databaseSize } from "./snapshot-file.js";

/** etcdctl's snapshot.Status (its JSON field names). */
export interface SnapshotStatus {
  readonly hash: number;
  readonly revision: number;
  readonly totalKey: number;
  readonly totalSize: number;
}

export async function snapshotStatus(file: string): Promise<SnapshotStatus> {
  try {
    await stat(file);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(code === "ENOENT" ? `stat ${file}: no such file or directory` : `stat ${file}: ${(e as Error).message}`);
  }
  const dir = await mkdtemp(join(tmpdir(), "etcd-ts-snapshot-status-"));
  try {
    const db = join(dir, "db");
    await copyDatabase(file, db, true);
    checkLmdbFile(db);
    const be = Backend.open(db);
    try {
      const d = digestBackend(be);
      return { hash: d.hash, revision: d.revision, totalKey: d.totalKeys, totalSize: await databaseSize(file) };
    } finally {
      await be.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
