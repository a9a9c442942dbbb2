/**
 * CRC-32C over a backend's buckets, as etcd's backend.Hash and `etcdctl snapshot status` compute
 * it over bbolt: for each bucket in name order, its name, then each row's key and value in key order.
 */
import type { Backend } from "../../backend/index.js";
import { Crc32c } from "../../mvcc/crc32c.js";
import { bytesToMain } from "../../mvcc/revision.js";

/** Rows left out of the hash (etcd's IgnoreKey). */
export type HashIgnore = (bucket: string, key: Buffer) => boolean;

export interface BackendDigest {
  readonly hash: number;
  /** Rows in every bucket. */
  readonly totalKeys: number;
  /** The main revision of the key bucket's last row (0 without one). */
  readonly revision: number;
}

const META_IGNORED = new Set(["consistent_index", "term"]);

/**
 * etcd's DefaultIgnores: the consistent index (and, as etcd 3.5 does, its term) change with every
 * applied entry, not only with the data, so members at different indexes would never agree.
 */
export const DEFAULT_IGNORES: HashIgnore = (bucket, key) => bucket === "meta" && META_IGNORED.has(key.toString("latin1"));

/** Reads committed data only: callers wait for `backend.committed()` first when that matters. */
export function digestBackend(be: Backend, ignore: HashIgnore = () => false): BackendDigest {
  const h = new Crc32c();
  let totalKeys = 0;
  let revision = 0;
  for (const name of be.bucketNames()) {
    h.update(Buffer.from(name));
    const isKey = name === "key";
    for (const { key, value } of be.bucket(name).getRange()) {
      if (!ignore(name, key)) h.update(key).update(value);
      if (isKey) revision = bytesToMain(key);
      totalKeys++;
    }
  }
  return { hash: h.digest(), totalKeys, revision };
}
