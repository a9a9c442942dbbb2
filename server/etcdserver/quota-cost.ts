/**
 * etcd's backend quota (etcdserver/quota.go): a request that can grow the database passes only while
 * size + its cost < the quota. Costs are etcd's: a put is its key and value plus 256 bytes of
 * overhead; a txn, the larger of its success and failure branches' puts (top-level ops only, as
 * etcd 3.4 counts them: a txn whose puts are all nested costs 0 and is never refused here); a lease
 * grant, 64 bytes. A put's key and value are taken as its encoded size (a few bytes of protobuf
 * framing more than etcd counts).
 */
import type * as kv from "../pb/kv.js";

const KV_OVERHEAD = 256;
export const LEASE_OVERHEAD = 64;

export function costPut(encodedPutBytes: number): number {
  return KV_OVERHEAD + encodedPutBytes;
}

export function costTxn(t: kv.TxnRequest): number {
  const branch = (ops: readonly kv.RequestOp[]) => ops.reduce((n, op) => n + ("requestPut" in op ? KV_OVERHEAD + op.requestPut.key.length + op.requestPut.value.length : 0), 0);
  return Math.max(branch(t.success), branch(t.failure));
}

/** etcd's backendQuota.Available. */
export function quotaAvailable(dbSize: number, cost: number, quotaBytes: number): boolean {
  return cost === 0 || dbSize + cost < quotaBytes;
}
