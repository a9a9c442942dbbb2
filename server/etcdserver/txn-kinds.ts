/**
 * How the server routes a Txn: read-only ones are answered locally (after a linearizable read
 * unless every range is serializable), the others go through raft; only those that put are
 * subject to the space quota.
 */
import type * as kv from "../pb/kv.js";

/**
 * Every op is a range, also inside nested txns. (apply's isTxnReadonly is etcd's top-level-only
 * rule, used for the apply-time checks; this one only decides whether raft is needed.)
 */
export function isTxnReadOnly(t: kv.TxnRequest): boolean {
  return [...t.success, ...t.failure].every((op) => ("requestRange" in op ? true : "requestTxn" in op ? isTxnReadOnly(op.requestTxn) : false));
}

/** Every range asks for a serializable read: no ReadIndex round is needed. */
export function isTxnSerializable(t: kv.TxnRequest): boolean {
  return [...t.success, ...t.failure].every((op) => ("requestRange" in op ? op.requestRange.serializable : "requestTxn" in op ? isTxnSerializable(op.requestTxn) : true));
}

/** Some op, at any depth, is a put: only a txn that can grow the database checks the space quota. */
export function txnHasPut(t: kv.TxnRequest): boolean {
  return [...t.success, ...t.failure].some((op) => "requestPut" in op || ("requestTxn" in op && txnHasPut(op.requestTxn)));
}
