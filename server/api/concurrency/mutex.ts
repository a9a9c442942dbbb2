import type { Header } from "../../etcdserver/server.js";
import { SortOrder } from "../../pb/kv.js";
import { byCreate, createdAt, getOp, ownKey, putOp, rangeOf, rangeRequest, sessionLease, waitDeletes, type V3Client } from "./client.js";

export interface Locked {
  readonly header: Header;
  /** The holder's key, `<name>/<lease hex>`: deleting it (Unlock) or losing the lease releases the lock. */
  readonly key: Buffer;
}

/**
 * etcd's v3lock Lock (clientv3/concurrency.Mutex.Lock): queue a key `<name>/<lease>` under the
 * lock's prefix; the key created first holds the lock, the others wait for every older key to be
 * deleted. Re-locking with a lease that already queued reuses its key. If the wait ends any other
 * way (the caller went away, a compaction), the queued key is deleted again.
 */
export async function lock(c: V3Client, name: Buffer, lease: bigint, signal: AbortSignal): Promise<Locked> {
  const id = await sessionLease(c, lease);
  const prefix = Buffer.concat([name, Buffer.from("/")]);
  const key = ownKey(prefix, id);
  const owner = getOp(byCreate(prefix, SortOrder.Ascend));
  const r = await c.txn({
    compare: [createdAt(key, 0)],
    success: [putOp(key, Buffer.alloc(0), id), owner],
    failure: [getOp(rangeRequest({ key })), owner],
  });
  let myRev = r.header.revision;
  if (!r.response.succeeded) myRev = rangeOf(r.response.responses[0]).kvs[0]!.createRevision;
  const first = rangeOf(r.response.responses[1]).kvs[0];
  if (!first || first.createRevision === myRev) return { header: r.header, key };
  try {
    return { header: await waitDeletes(c, prefix, myRev - 1, signal), key };
  } catch (e) {
    await unlock(c, key).catch(() => undefined);
    throw e;
  }
}

/** etcd's v3lock Unlock: delete the key Lock returned (whether or not it still exists). */
export async function unlock(c: V3Client, key: Buffer): Promise<Header> {
  const r = await c.deleteRange({ key, range_end: Buffer.alloc(0), prev_kv: false });
  return r.header;
}
