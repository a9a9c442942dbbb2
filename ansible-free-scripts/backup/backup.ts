/**
 * One backup of a cluster: a snapshot from its leader, verified, then made durable before it gets
 * its final name (temp file + fsync + rename + fsync of the directory), so a crash leaves either
 * no backup or a whole one, never a torn `.db` under a backup's name. A JSON sidecar records what
 * the snapshot holds; retention then removes expired backups (and their sidecars).
 */
import { open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { snapshotStatus } from "../../server/etcdserver/backup/snapshot-status.js";
import { backupFileName, expiredBackups, listBackups, type RetentionRule } from "./retention.js";
import { tokenFor, type Credentials } from "../auth/auth-client.js";
import { findLeader, memberList, streamSnapshot, type Endpoint, type MemberInfo, type TlsFiles } from "./snapshot-client.js";

export interface BackupOptions {
  readonly cluster: string;
  readonly dir: string;
  readonly endpoints: readonly Endpoint[];
  readonly tls: TlsFiles;
  /** A user with the root role, for a cluster with auth on (a snapshot is root's, as in etcd). */
  readonly credentials?: Credentials;
  readonly retention: RetentionRule;
  readonly now?: () => Date;
  readonly onProgress?: (msg: string) => void;
}

/** The sidecar `<backup>.json`. */
export interface BackupSidecar {
  readonly version: 1;
  readonly cluster: string;
  readonly file: string;
  readonly takenAt: string;
  readonly leader: { readonly endpoint: string; readonly memberId: string };
  /** "etcd-ts" (lmdb: etcd-ts snapshot status/restore read it) or "etcd" (bbolt, from a real etcd: etcdctl's). */
  readonly format: "etcd-ts" | "etcd";
  /** The last revision in the snapshot (etcd-ts snapshot status); null for etcd's bbolt files, which etcd-ts does not read. */
  readonly revision: number | null;
  /** Rows in the backend, every bucket (etcdctl's "TOTAL KEYS"), not only user keys; null as revision. */
  readonly totalKeys: number | null;
  /** Bytes of the file, digest included. */
  readonly size: number;
  /** Hex SHA-256 of the database part (the file's last 32 bytes, as bytes). */
  readonly sha256: string;
  readonly members: readonly MemberInfo[];
}

export interface BackupResult {
  readonly path: string;
  readonly sidecar: BackupSidecar;
  readonly removed: readonly string[];
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `text` to `path` atomically and durably. */
async function writeDurable(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export async function takeBackup(o: BackupOptions): Promise<BackupResult> {
  const progress = o.onProgress ?? (() => {});
  const now = o.now ?? (() => new Date());
  const { endpoint, memberId } = await findLeader(o.endpoints, o.tls);
  progress(`leader ${memberId} at ${endpoint.url}`);
  // a token from the leader itself (a simple token may be known to the member that issued it only)
  const tls: TlsFiles = o.credentials ? { ...o.tls, token: await tokenFor(endpoint, o.tls, o.credentials) } : o.tls;
  if (o.credentials) progress(`authenticated as ${o.credentials.user}`);
  const members = await memberList(endpoint, tls);
  const takenAt = now();
  const file = backupFileName(o.cluster, takenAt);
  const path = join(o.dir, file);
  const tmp = join(o.dir, `.${file}.part`);
  const fh = await open(tmp, "wx", 0o600);
  let streamed;
  try {
    let next = 0;
    streamed = await streamSnapshot(endpoint, tls, fh, (n) => {
      if (n >= next) {
        progress(`received ${n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`}`);
        next = n + 16 * 1048576;
      }
    });
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  progress(`received ${streamed.size} bytes, sha256 ${streamed.sha256} verified`);
  let status: { format: BackupSidecar["format"]; revision: number | null; totalKey: number | null };
  try {
    status = await describeSnapshot(tmp);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new Error(`the snapshot from ${endpoint.url} does not open as a database: ${(e as Error).message}`);
  }
  const sidecar: BackupSidecar = {
    version: 1,
    cluster: o.cluster,
    file,
    takenAt: takenAt.toISOString(),
    leader: { endpoint: endpoint.url, memberId },
    format: status.format,
    revision: status.revision,
    totalKeys: status.totalKey,
    size: streamed.size,
    sha256: streamed.sha256,
    members,
  };
  // The sidecar first: a .db under its final name always has its sidecar.
  await writeDurable(`${path.slice(0, -".db".length)}.json`, JSON.stringify(sidecar, null, 2) + "\n");
  await rename(tmp, path);
  await fsyncDir(o.dir);
  progress(`wrote ${path} (${status.format === "etcd" ? "etcd's bbolt format: read it with etcdctl snapshot status" : `revision ${status.revision}, ${status.totalKey} backend rows`})`);
  const removed = await applyRetention(o.dir, o.cluster, o.retention, now());
  for (const r of removed) progress(`removed ${join(o.dir, r)} (retention)`);
  return { path, sidecar, removed };
}

/** bbolt's magic (etcd's backend): the first field of the meta page, after its 16-byte page header (id, flags, count, overflow). */
const BBOLT_MAGIC = 0xed0cdaed;

/** What the snapshot holds: etcd-ts's lmdb (read with the server's own status code), or a real etcd's bbolt. */
async function describeSnapshot(file: string): Promise<{ format: "etcd-ts" | "etcd"; revision: number | null; totalKey: number | null }> {
  const fh = await open(file, "r");
  const head = Buffer.alloc(20);
  try {
    await fh.read(head, 0, 20, 0);
  } finally {
    await fh.close();
  }
  if (head.readUInt32LE(16) === BBOLT_MAGIC) return { format: "etcd", revision: null, totalKey: null };
  const st = await snapshotStatus(file);
  return { format: "etcd-ts", revision: st.revision, totalKey: st.totalKey };
}

/** Removes the expired backups of `cluster` in `dir` with their sidecars; returns the removed `.db` names. */
export async function applyRetention(dir: string, cluster: string, rule: RetentionRule, now: Date): Promise<string[]> {
  if (rule.keep === undefined && rule.maxAgeMs === undefined) return [];
  const expired = expiredBackups(listBackups(cluster, await readdir(dir)), rule, now);
  for (const e of expired) {
    await rm(join(dir, e.file), { force: true });
    await rm(join(dir, `${e.file.slice(0, -".db".length)}.json`), { force: true });
  }
  if (expired.length) await fsyncDir(dir);
  return expired.map((e) => e.file);
}

/** Reads the sidecar of a backup file, if there is one. */
export async function readSidecar(dbPath: string): Promise<BackupSidecar | undefined> {
  try {
    return JSON.parse(await readFile(`${dbPath.replace(/\.db$/, "")}.json`, "utf8")) as BackupSidecar;
  } catch {
    return undefined;
  }
}
