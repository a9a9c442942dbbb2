/**
 * A snapshot file as `etcdctl snapshot save` writes it from etcd-ts's Snapshot stream: the backend
 * (an lmdb environment file, lmdb's compacting copy) followed by the SHA-256 of those bytes
 * (README.md beside this file). etcd's rule to tell a digest is there: the database is a whole
 * number of pages, so (size % 512) == 32 only when 32 bytes of digest follow it.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, open, stat, truncate } from "node:fs/promises";

export const SHA256_BYTES = 32;

/** etcd's hasChecksum. */
export function hasChecksum(size: number): boolean {
  return size % 512 === SHA256_BYTES;
}

/** Go's %v of a byte slice: `[1 2 3]` (etcd's text for a digest mismatch). */
function goBytes(b: Uint8Array): string {
  return `[${[...b].join(" ")}]`;
}

async function sha256Of(file: string, length: number): Promise<Buffer> {
  const h = createHash("sha256");
  if (length > 0) for await (const chunk of createReadStream(file, { start: 0, end: length - 1 })) h.update(chunk as Buffer);
  return h.digest();
}

/**
 * Copies the database part of snapshot `from` to `to` (etcd's saveDB): the digest cut off, and
 * checked unless `skipHashCheck` (needed for a `db` file copied out of a data dir, which has none).
 * Throws etcd's errors.
 */
export async function copyDatabase(from: string, to: string, skipHashCheck: boolean): Promise<void> {
  const size = (await stat(from)).size;
  const hasHash = hasChecksum(size);
  if (!hasHash && !skipHashCheck) throw new Error("snapshot missing hash but --skip-hash-check=false");
  const dbBytes = hasHash ? size - SHA256_BYTES : size;
  if (hasHash && !skipHashCheck) {
    const fh = await open(from, "r");
    const want = Buffer.alloc(SHA256_BYTES);
    try {
      await fh.read(want, 0, SHA256_BYTES, dbBytes);
    } finally {
      await fh.close();
    }
    const got = await sha256Of(from, dbBytes);
    if (!want.equals(got)) throw new Error(`expected sha256 ${goBytes(want)}, got ${goBytes(got)}`);
  }
  await copyFile(from, to);
  if (hasHash) await truncate(to, dbBytes);
}

/** The size of the database part of a snapshot file (the digest, if any, left out). */
export async function databaseSize(file: string): Promise<number> {
  const size = (await stat(file)).size;
  return hasChecksum(size) ? size - SHA256_BYTES : size;
}
