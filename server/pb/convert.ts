import * as kv from "./kv.js";
import type {
  Int64,
  WireCompactionRequest,
  WireCompare,
  WireDeleteRangeRequest,
  WireKeyValue,
  WirePutRequest,
  WireRangeRequest,
  WireRequestOp,
  WireTxnRequest,
  WireHeader,
} from "./wire.js";

const EMPTY = Buffer.alloc(0);

/** int64 -> safe integer; out-of-range values clamp (a revision past 2^53 is "future" either way). */
export function toSafe(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === "number" ? v : Number(v);
  if (Number.isSafeInteger(n)) return n;
  return n > 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
}

export function toBigInt(v: Int64 | undefined | null): bigint {
  if (v === undefined || v === null) return 0n;
  return BigInt(v);
}

const buf = (b: Buffer | undefined | null): Buffer => b ?? EMPTY;

export function rangeFromWire(w: WireRangeRequest): kv.RangeRequest {
  return {
    key: buf(w.key),
    rangeEnd: buf(w.range_end),
    limit: toSafe(w.limit),
    revision: toSafe(w.revision),
    sortOrder: w.sort_order ?? 0,
    sortTarget: w.sort_target ?? 0,
    serializable: !!w.serializable,
    keysOnly: !!w.keys_only,
    countOnly: !!w.count_only,
    minModRevision: toSafe(w.min_mod_revision),
    maxModRevision: toSafe(w.max_mod_revision),
    minCreateRevision: toSafe(w.min_create_revision),
    maxCreateRevision: toSafe(w.max_create_revision),
  };
}

export function putFromWire(w: WirePutRequest): kv.PutRequest {
  return {
    key: buf(w.key),
    value: buf(w.value),
    lease: toBigInt(w.lease),
    prevKv: !!w.prev_kv,
    ignoreValue: !!w.ignore_value,
    ignoreLease: !!w.ignore_lease,
  };
}

export function deleteRangeFromWire(w: WireDeleteRangeRequest): kv.DeleteRangeRequest {
  return { key: buf(w.key), rangeEnd: buf(w.range_end), prevKv: !!w.prev_kv };
}

function compareFromWire(w: WireCompare): kv.Compare {
  let targetUnion: kv.CompareValue | undefined;
  switch (w.target_union) {
    case "version":
      targetUnion = { version: toSafe(w.version) };
      break;
    case "create_revision":
      targetUnion = { createRevision: toSafe(w.create_revision) };
      break;
    case "mod_revision":
      targetUnion = { modRevision: toSafe(w.mod_revision) };
      break;
    case "value":
      targetUnion = { value: buf(w.value) };
      break;
    case "lease":
      targetUnion = { lease: toBigInt(w.lease) };
      break;
  }
  return { result: w.result ?? 0, target: w.target ?? 0, key: buf(w.key), rangeEnd: buf(w.range_end), ...(targetUnion ? { targetUnion } : {}) };
}

/** A RequestOp with no member set: etcd treats it as an empty op; we map it to an empty-key range so validation rejects it as etcd does. */
function opFromWire(w: WireRequestOp): kv.RequestOp {
  if (w.request_range) return { requestRange: rangeFromWire(w.request_range) };
  if (w.request_put) return { requestPut: putFromWire(w.request_put) };
  if (w.request_delete_range) return { requestDeleteRange: deleteRangeFromWire(w.request_delete_range) };
  if (w.request_txn) return { requestTxn: txnFromWire(w.request_txn) };
  return { requestRange: rangeFromWire({} as WireRangeRequest) };
}

export function txnFromWire(w: WireTxnRequest): kv.TxnRequest {
  return {
    compare: (w.compare ?? []).map(compareFromWire),
    success: (w.success ?? []).map(opFromWire),
    failure: (w.failure ?? []).map(opFromWire),
  };
}

export function compactionFromWire(w: WireCompactionRequest): kv.CompactionRequest {
  return { revision: toSafe(w.revision), physical: !!w.physical };
}

export function kvToWire(k: kv.KeyValue): WireKeyValue {
  return {
    key: k.key,
    create_revision: k.createRevision,
    mod_revision: k.modRevision,
    version: k.version,
    value: k.value,
    lease: k.lease === 0n ? 0 : k.lease.toString(),
  };
}

export interface WireRangeResponse {
  kvs: WireKeyValue[];
  more: boolean;
  count: number;
}

export function rangeResponseToWire(r: kv.RangeResponse): WireRangeResponse {
  return { kvs: r.kvs.map(kvToWire), more: r.more, count: r.count };
}

export function putResponseToWire(r: kv.PutResponse): { prev_kv?: WireKeyValue } {
  return r.prevKv ? { prev_kv: kvToWire(r.prevKv) } : {};
}

export function deleteRangeResponseToWire(r: kv.DeleteRangeResponse): { deleted: number; prev_kvs: WireKeyValue[] } {
  return { deleted: r.deleted, prev_kvs: r.prevKvs.map(kvToWire) };
}

export interface WireResponseOp {
  response_range?: WireRangeResponse;
  response_put?: { prev_kv?: WireKeyValue };
  response_delete_range?: { deleted: number; prev_kvs: WireKeyValue[] };
  response_txn?: WireTxnResponse;
}

export interface WireTxnResponse {
  succeeded: boolean;
  responses: WireResponseOp[];
}

/** Nested responses carry a header with only their own revision, as etcd's applier fills it. */
export function txnResponseToWire(r: kv.TxnResponse): WireTxnResponse {
  return {
    succeeded: r.succeeded,
    responses: r.responses.map((op): WireResponseOp => {
      if ("responseRange" in op) return { response_range: { ...innerHeader(op.responseRange.revision), ...rangeResponseToWire(op.responseRange) } };
      if ("responsePut" in op) return { response_put: { ...innerHeader(op.responsePut.revision), ...putResponseToWire(op.responsePut) } };
      if ("responseDeleteRange" in op) {
        return { response_delete_range: { ...innerHeader(op.responseDeleteRange.revision), ...deleteRangeResponseToWire(op.responseDeleteRange) } };
      }
      return { response_txn: { ...innerHeader(op.responseTxn.revision), ...txnResponseToWire(op.responseTxn) } };
    }),
  };
}

function innerHeader(revision: number): { header: { revision: number } } {
  return { header: { revision } };
}

export function headerToWire(h: kv.Header): WireHeader {
  return { cluster_id: h.clusterId.toString(), member_id: h.memberId.toString(), revision: h.revision, raft_term: h.raftTerm };
}
