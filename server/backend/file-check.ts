/**
 * A sanity check of an lmdb file before lmdb opens it. lmdb trusts its file: opening one that is
 * not an lmdb environment (a bbolt snapshot of real etcd, a truncated copy) can crash the process
 * instead of failing. This reads both meta pages (lmdb-js's lmdb, data version 2) and refuses a file
 * whose magic, version, page size or page numbers do not fit its size, with bbolt's error text.
 * Damage inside the trees is not detected: a snapshot's SHA-256 is what guards those.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

const MAGIC = 0xbeefc0de;
const DATA_VERSION = 2;
/** Offsets in a meta page (lmdb-js's lmdb: a 24-byte page header, then MDB_meta). */
const OFF_MAGIC = 24;
const OFF_VERSION = 28;
const OFF_PAGE_SIZE = 48; // the free DB's md_pad holds the page size
const OFF_FREE_ROOT = 88;
const OFF_MAIN_ROOT = 136;
const OFF_LAST_PAGE = 144;
const NO_PAGE = 0xffffffffffffffffn;

export class InvalidDatabaseError extends Error {
  override readonly name = "InvalidDatabaseError";
  constructor(readonly detail: string) {
    super("invalid database");
  }
}

function checkMeta(page: Buffer, pageSize: number, pages: number, which: number): void {
  if (page.readUInt32LE(OFF_MAGIC) !== MAGIC) throw new InvalidDatabaseError(`meta page ${which}: not an lmdb file`);
  if (page.readUInt32LE(OFF_VERSION) !== DATA_VERSION) throw new InvalidDatabaseError(`meta page ${which}: lmdb data version ${page.readUInt32LE(OFF_VERSION)}`);
  if (page.readUInt32LE(OFF_PAGE_SIZE) !== pageSize) throw new InvalidDatabaseError(`meta page ${which}: page size differs from meta page 0's`);
  const last = page.readBigUInt64LE(OFF_LAST_PAGE);
  if (last >= BigInt(pages)) throw new InvalidDatabaseError(`meta page ${which}: last page ${last} beyond the file's ${pages} pages`);
  for (const off of [OFF_FREE_ROOT, OFF_MAIN_ROOT]) {
    const root = page.readBigUInt64LE(off);
    if (root !== NO_PAGE && root > last) throw new InvalidDatabaseError(`meta page ${which}: root page ${root} beyond the last page ${last}`);
  }
}

/** Throws InvalidDatabaseError unless `path` looks like an lmdb environment lmdb can open safely. */
export function checkLmdbFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(OFF_LAST_PAGE + 8);
    if (size < head.length || readSync(fd, head, 0, head.length, 0) !== head.length) throw new InvalidDatabaseError("file too short");
    const pageSize = head.readUInt32LE(OFF_PAGE_SIZE);
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new InvalidDatabaseError(`page size ${pageSize}`);
    if (size < 2 * pageSize) throw new InvalidDatabaseError("file shorter than its two meta pages");
    const pages = Math.floor(size / pageSize);
    checkMeta(head, pageSize, pages, 0);
    const second = Buffer.alloc(head.length);
    readSync(fd, second, 0, second.length, pageSize);
    checkMeta(second, pageSize, pages, 1);
  } finally {
    closeSync(fd);
  }
}
