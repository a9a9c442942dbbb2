/**
 * KV apply, as etcd 3.4's applierV3backend (etcdserver/apply.go): pure functions over the MVCC
 * store taking the typed requests of server/pb/kv.ts and returning the typed responses.
 *
 * Every response carries `revision`: the revision etcd puts in that response's header (for the
 * top-level response the server fills the rest of the header; a response nested in a Txn gets a
 * header holding only this revision, and a nested Txn's own header is left at 0, as etcd's).
 *
 * Requests are assumed validated (validate.ts) before they were proposed.
 */
import { ErrKeyNotFound } from "../../pb/errors.js";
import { ErrCompacted, ErrFutureRev } from "../../mvcc/errors.js";
import { ErrLeaseNotFound } from "../../lease/errors.js";
import {
  CompareResult,
  CompareTarget,
  SortOrder,
  SortTarget,
  type Compare,
  type CompactionRequest,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type KeyValue,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
} from "../../pb/kv.js";
import type { LeaseHooks, MvccStore, RangeOptions, RangeResult, WriteTxn } from "../../mvcc/store.js";
import { goSort, goSortReverse } from "./go-sort.js";

export type { LeaseHooks } from "../../mvcc/store.js";

export interface CompactionResult {
  /** The revision for the response header (the current revision). */
  readonly revision: number;
  /** Resolves when the physical compaction is done (Compact with physical=true waits for it). */
  readonly done: Promise<void>;
}

const EMPTY = Buffer.alloc(0);

/** Something ranges can be read from: the store (current state) or a write transaction. */
interface Reader {
  range(key: Buffer, rangeEnd: Buffer, opts?: RangeOptions): RangeResult;
}

// ------------------------------------------------------------------ Range

const byKey = (a: KeyValue, b: KeyValue) => Buffer.compare(a.key, b.key) < 0;
const byVersion = (a: KeyValue, b: KeyValue) => a.version - b.version < 0;
const byCreate = (a: KeyValue, b: KeyValue) => a.createRevision - b.createRevision < 0;
const byMod = (a: KeyValue, b: KeyValue) => a.modRevision - b.modRevision < 0;
const byValue = (a: KeyValue, b: KeyValue) => Buffer.compare(a.value, b.value) < 0;

function lessFor(target: SortTarget): ((a: KeyValue, b: KeyValue) => boolean) | undefined {
  switch (target) {
    case SortTarget.Key:
      return byKey;
    case SortTarget.Version:
      return byVersion;
    case SortTarget.Create:
      return byCreate;
    case SortTarget.Mod:
      return byMod;
    case SortTarget.Value:
      return byValue;
    default:
      return undefined;
  }
}

function rangeOn(reader: Reader, r: RangeRequest): RangeResponse {
  let limit = r.limit;
  const filtered = r.minModRevision !== 0 || r.maxModRevision !== 0 || r.minCreateRevision !== 0 || r.maxCreateRevision !== 0;
  if (r.sortOrder !== SortOrder.None || filtered) limit = 0;
  if (limit > 0) limit = limit + 1;

  const rr = reader.range(r.key, r.rangeEnd, { limit, revision: r.revision, countOnly: r.countOnly });
  let kvs = rr.kvs;
  if (filtered) {
    kvs = kvs.filter(
      (kv) =>
        !(r.maxModRevision !== 0 && kv.modRevision > r.maxModRevision) &&
        !(r.minModRevision !== 0 && kv.modRevision < r.minModRevision) &&
        !(r.maxCreateRevision !== 0 && kv.createRevision > r.maxCreateRevision) &&
        !(r.minCreateRevision !== 0 && kv.createRevision < r.minCreateRevision),
    );
  }

  let sortOrder = r.sortOrder;
  if (r.sortTarget !== SortTarget.Key && sortOrder === SortOrder.None) sortOrder = SortOrder.Ascend;
  if (sortOrder === SortOrder.Ascend || sortOrder === SortOrder.Descend) {
    const less = lessFor(r.sortTarget);
    // Keys are unique and already ascending: sorting ascending by key is the identity.
    if (less && !(sortOrder === SortOrder.Ascend && r.sortTarget === SortTarget.Key)) {
      if (kvs === rr.kvs) kvs = kvs.slice();
      if (sortOrder === SortOrder.Ascend) goSort(kvs, less);
      else goSortReverse(kvs, less);
    }
  }

  let more = false;
  if (r.limit > 0 && kvs.length > r.limit) {
    kvs = kvs.slice(0, r.limit);
    more = true;
  }
  if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { kvs, more, count: rr.count, revision: rr.rev };
}

/** A Range request (serializable or after the read index), at the store's current state. */
export function applyRange(store: MvccStore, req: RangeRequest): RangeResponse {
  return rangeOn(store, req);
}

// ------------------------------------------------------------------ Put / DeleteRange

function putOn(txn: WriteTxn, p: PutRequest): PutResponse {
  let value = p.value;
  let lease = p.lease;
  let prev: KeyValue | undefined;
  if (p.ignoreValue || p.ignoreLease || p.prevKv) {
    prev = txn.range(p.key, EMPTY).kvs[0];
  }
  if (p.ignoreValue || p.ignoreLease) {
    if (prev === undefined) throw ErrKeyNotFound;
    if (p.ignoreValue) value = prev.value;
    if (p.ignoreLease) lease = prev.lease;
  }
  txn.put(p.key, value, lease);
  const revision = txn.beginRevision + 1;
  return p.prevKv && prev !== undefined ? { prevKv: prev, revision } : { revision };
}

/**
 * A Put inside `txn` (call it in store.write). A lease that does not exist -> ErrLeaseNotFound;
 * ignore_value/ignore_lease on an absent key -> ErrKeyNotFound.
 */
export function applyPut(txn: WriteTxn, req: PutRequest, leases?: Pick<LeaseHooks, "exists">): PutResponse {
  if (req.lease !== 0n && !(leases?.exists(req.lease) ?? false)) throw ErrLeaseNotFound;
  return putOn(txn, req);
}

/** A DeleteRange inside `txn` (call it in store.write). */
export function applyDeleteRange(txn: WriteTxn, req: DeleteRangeRequest): DeleteRangeResponse {
  const { deleted } = txn.deleteRange(req.key, req.rangeEnd);
  const revision = deleted.length !== 0 || txn.changes() > 0 ? txn.beginRevision + 1 : txn.beginRevision;
  return { deleted: deleted.length, prevKvs: req.prevKv ? deleted : [], revision };
}

// ------------------------------------------------------------------ Txn

/** Which branch each (nested) txn takes, decided on the state before the txn (etcd's txnPath). */
interface TxnPath {
  readonly ok: boolean;
  /** For ops of the chosen branch that are nested txns: their paths, by op index. */
  readonly nested: Map<number, TxnPath>;
}

function compareInt(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKv(c: Compare, kv: KeyValue): boolean {
  const tu = c.targetUnion;
  let result: number;
  switch (c.target) {
    case CompareTarget.Value:
      result = Buffer.compare(kv.value, tu && "value" in tu ? tu.value : EMPTY);
      break;
    case CompareTarget.Create:
      result = compareInt(kv.createRevision, tu && "createRevision" in tu ? tu.createRevision : 0);
      break;
    case CompareTarget.Mod:
      result = compareInt(kv.modRevision, tu && "modRevision" in tu ? tu.modRevision : 0);
      break;
    case CompareTarget.Version:
      result = compareInt(kv.version, tu && "version" in tu ? tu.version : 0);
      break;
    case CompareTarget.Lease:
      result = compareInt(kv.lease, tu && "lease" in tu ? tu.lease : 0n);
      break;
    default:
      result = 0;
  }
  switch (c.result) {
    case CompareResult.Equal:
      return result === 0;
    case CompareResult.NotEqual:
      return result !== 0;
    case CompareResult.Greater:
      return result > 0;
    case CompareResult.Less:
      return result < 0;
    default:
      return true;
  }
}

const ZERO_KV: KeyValue = { key: EMPTY, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n };

function applyCompare(store: MvccStore, c: Compare): boolean {
  let kvs: KeyValue[];
  try {
    kvs = store.range(c.key, c.rangeEnd).kvs;
  } catch {
    return false;
  }
  if (kvs.length === 0) {
    // An absent key: VALUE compares fail, others compare against the zero KeyValue.
    if (c.target === CompareTarget.Value) return false;
    return compareKv(c, ZERO_KV);
  }
  for (const kv of kvs) if (!compareKv(c, kv)) return false;
  return true;
}

function compareToPath(store: MvccStore, rt: TxnRequest): TxnPath {
  let ok = true;
  for (const c of rt.compare) {
    if (!applyCompare(store, c)) {
      ok = false;
      break;
    }
  }
  const ops = ok ? rt.success : rt.failure;
  const nested = new Map<number, TxnPath>();
  ops.forEach((op, i) => {
    if ("requestTxn" in op) nested.set(i, compareToPath(store, op.requestTxn));
  });
  return { ok, nested };
}

/** etcd's isTxnReadonly: only the top-level ops are looked at; a nested txn counts as a write. */
export function isTxnReadonly(rt: TxnRequest): boolean {
  for (const op of rt.success) if (!("requestRange" in op)) return false;
  for (const op of rt.failure) if (!("requestRange" in op)) return false;
  return true;
}

function forEachChosenOp(rt: TxnRequest, path: TxnPath, f: (op: RequestOp) => void): void {
  const ops = path.ok ? rt.success : rt.failure;
  ops.forEach((op, i) => {
    if ("requestTxn" in op) forEachChosenOp(op.requestTxn, path.nested.get(i)!, f);
    else f(op);
  });
}

function checkRequests(store: MvccStore, rt: TxnRequest, path: TxnPath, isWrite: boolean, leases: Pick<LeaseHooks, "exists"> | undefined): void {
  if (isWrite) {
    forEachChosenOp(rt, path, (op) => {
      if (!("requestPut" in op)) return;
      const p = op.requestPut;
      if (p.ignoreValue || p.ignoreLease) {
        if (store.range(p.key, EMPTY).kvs.length === 0) throw ErrKeyNotFound;
      }
      if (p.lease !== 0n && !(leases?.exists(p.lease) ?? false)) throw ErrLeaseNotFound;
    });
  }
  const cur = store.currentRevision();
  const first = store.compactedRevision();
  forEachChosenOp(rt, path, (op) => {
    if (!("requestRange" in op)) return;
    const rev = op.requestRange.revision;
    if (rev === 0) return;
    if (rev > cur) throw ErrFutureRev;
    if (rev < first) throw ErrCompacted;
  });
}

function applyOps(reader: Reader, txn: WriteTxn | undefined, rt: TxnRequest, path: TxnPath): Omit<TxnResponse, "revision"> {
  const ops = path.ok ? rt.success : rt.failure;
  const responses: ResponseOp[] = new Array(ops.length);
  ops.forEach((op, i) => {
    if ("requestRange" in op) responses[i] = { responseRange: rangeOn(reader, op.requestRange) };
    else if ("requestPut" in op) responses[i] = { responsePut: putOn(txn!, op.requestPut) };
    else if ("requestDeleteRange" in op) responses[i] = { responseDeleteRange: applyDeleteRange(txn!, op.requestDeleteRange) };
    else {
      const sub = applyOps(reader, txn, op.requestTxn, path.nested.get(i)!);
      // etcd never sets a nested txn response's header revision
      responses[i] = { responseTxn: { ...sub, revision: 0 } };
    }
  });
  return { succeeded: path.ok, responses };
}

/**
 * A Txn: compares (and nested compares) are evaluated on the state before the txn; then all ops
 * of the chosen branches run in one write transaction (one revision). A read-only txn (only
 * Range ops at top level) does not move the revision and writes nothing but `consistentIndex`.
 */
export function applyTxn(store: MvccStore, consistentIndex: number, req: TxnRequest, leases?: Pick<LeaseHooks, "exists">): TxnResponse {
  const isWrite = !isTxnReadonly(req);
  let path: TxnPath;
  try {
    path = compareToPath(store, req);
    checkRequests(store, req, path, isWrite, leases);
  } catch (e) {
    store.setConsistentIndex(consistentIndex);
    throw e;
  }
  if (!isWrite) {
    const resp = applyOps(store, undefined, req, path);
    store.setConsistentIndex(consistentIndex);
    return { ...resp, revision: store.currentRevision() };
  }
  return store.write(consistentIndex, (txn) => {
    const resp = applyOps(txn, txn, req, path);
    return { ...resp, revision: txn.changes() > 0 ? txn.beginRevision + 1 : txn.beginRevision };
  });
}

// ------------------------------------------------------------------ Compaction

/**
 * A Compaction: ErrCompacted (rev <= compacted; a physical request should then still await
 * store.compactionBarrier() before answering, as etcd) or ErrFutureRev (rev > current).
 */
export function applyCompaction(store: MvccStore, consistentIndex: number, req: CompactionRequest): CompactionResult {
  const { done } = store.compact(consistentIndex, req.revision);
  return { revision: store.currentRevision(), done };
}
