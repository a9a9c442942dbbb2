/**
 * Request validation done by the API layer BEFORE proposing, as etcd's v3rpc/key.go
 * (checkRangeRequest, checkPutRequest, checkDeleteRequest, checkTxnRequest + checkIntervals).
 * Each function throws the etcd error or returns normally.
 */
import {
  ErrDuplicateKey,
  ErrEmptyKey,
  ErrInvalidSortOption,
  ErrLeaseProvided,
  ErrTooManyOps,
  ErrValueProvided,
} from "../../pb/errors.js";
import { SortOrder, SortTarget, type DeleteRangeRequest, type PutRequest, type RangeRequest, type RequestOp, type TxnRequest } from "../../pb/kv.js";

/** etcd's --max-txn-ops default. */
export const DEFAULT_MAX_TXN_OPS = 128;

const SORT_ORDERS = new Set<number>([SortOrder.None, SortOrder.Ascend, SortOrder.Descend]);
const SORT_TARGETS = new Set<number>([SortTarget.Key, SortTarget.Version, SortTarget.Create, SortTarget.Mod, SortTarget.Value]);

/**
 * Empty key -> ErrEmptyKey; a sort order/target outside the enum -> ErrInvalidSortOption
 * (etcd 3.5's check: 3.4 ignores an unknown order and panics on an unknown target).
 */
export function validateRange(r: RangeRequest): void {
  if (r.key.length === 0) throw ErrEmptyKey;
  if (!SORT_ORDERS.has(r.sortOrder)) throw ErrInvalidSortOption;
  if (!SORT_TARGETS.has(r.sortTarget)) throw ErrInvalidSortOption;
}

export function validatePut(r: PutRequest): void {
  if (r.key.length === 0) throw ErrEmptyKey;
  if (r.ignoreValue && r.value.length !== 0) throw ErrValueProvided;
  if (r.ignoreLease && r.lease !== 0n) throw ErrLeaseProvided;
}

export function validateDeleteRange(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw ErrEmptyKey;
}

function checkRequestOp(u: RequestOp, maxTxnOps: number): void {
  if ("requestRange" in u) validateRange(u.requestRange);
  else if ("requestPut" in u) validatePut(u.requestPut);
  else if ("requestDeleteRange" in u) validateDeleteRange(u.requestDeleteRange);
  else checkTxnOps(u.requestTxn, maxTxnOps);
}

/**
 * etcd's checkTxnRequest: the op count of a txn is max(#compare, #success, #failure); it must not
 * exceed maxTxnOps, and each nested txn gets what is left (maxTxnOps - that count) as its own limit.
 */
function checkTxnOps(r: TxnRequest, maxTxnOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps) throw ErrTooManyOps;
  for (const c of r.compare) if (c.key.length === 0) throw ErrEmptyKey;
  for (const u of r.success) checkRequestOp(u, maxTxnOps - opc);
  for (const u of r.failure) checkRequestOp(u, maxTxnOps - opc);
}

/** A delete's interval [begin, end) as latin1 strings (a single key k is [k, k+"\0")). */
interface Interval {
  readonly begin: string;
  readonly end: string;
}

/**
 * Does some delete interval contain key k? (etcd's interval tree with StringAffine bounds.)
 * A delete with range_end "\0" is the interval [key, "\0"), which contains no key: etcd does
 * not see it as overlapping any put.
 */
function intersects(dels: readonly Interval[], k: string): boolean {
  for (const iv of dels) if (iv.begin <= k && k < iv.end) return true;
  return false;
}

/**
 * etcd's checkIntervals over one branch: no key may be put twice, nor put and deleted, across the
 * branch and the txns nested in it (a key put in both branches of one nested txn is fine).
 */
function checkIntervals(reqs: readonly RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const req of reqs) {
    if (!("requestDeleteRange" in req)) continue;
    const d = req.requestDeleteRange;
    const begin = d.key.toString("latin1");
    dels.push({ begin, end: d.rangeEnd.length !== 0 ? d.rangeEnd.toString("latin1") : begin + "\0" });
  }
  const puts = new Set<string>();
  for (const req of reqs) {
    if (!("requestTxn" in req)) continue;
    const then = checkIntervals(req.requestTxn.success);
    const els = checkIntervals(req.requestTxn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || intersects(dels, k)) throw ErrDuplicateKey;
      puts.add(k);
    }
    for (const k of els.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw ErrDuplicateKey;
      if (intersects(dels, k)) throw ErrDuplicateKey;
      puts.add(k);
    }
    // etcd unions the nested deletes except those ending at "\0" (which intersect nothing anyway)
    for (const iv of then.dels) if (iv.end !== "\0") dels.push(iv);
    for (const iv of els.dels) if (iv.end !== "\0") dels.push(iv);
  }
  for (const req of reqs) {
    if (!("requestPut" in req)) continue;
    const k = req.requestPut.key.toString("latin1");
    if (puts.has(k) || intersects(dels, k)) throw ErrDuplicateKey;
    puts.add(k);
  }
  return { puts, dels };
}

/**
 * The whole validation etcd's kvServer.Txn does before proposing: op counts and empty keys
 * (checkTxnRequest), then duplicate keys in the success and failure branches (checkIntervals).
 */
export function validateTxn(r: TxnRequest, maxTxnOps: number = DEFAULT_MAX_TXN_OPS): void {
  checkTxnOps(r, maxTxnOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}
