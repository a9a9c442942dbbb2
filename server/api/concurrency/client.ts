/**
 * What the lock and election recipes need from an etcd client (clientv3's subset), and the request
 * shapes they send. The recipes are etcd's clientv3/concurrency, run inside the member the way etcd's
 * v3lock and v3election services run them: against the member itself.
 */
import type { Applied, Header } from "../../etcdserver/server.js";
import { EtcdError, GrpcCode } from "../../pb/errors.js";
import { contextError } from "../../etcdserver/request-context.js";
import { toApiError } from "../../etcdserver/requests/api-errors.js";
import type * as kv from "../../pb/kv.js";
import { EventType, SortOrder, SortTarget } from "../../pb/kv.js";
import type { WireDeleteRangeRequest, WireRangeRequest, WireTxnRequest } from "../../pb/wire.js";
import type { StoreWatchResponse } from "../../watch/watchable-store.js";
import { prefixEnd } from "../../util/prefix-end.js";

export interface WatchSpec {
  readonly key: Buffer;
  /** undefined: only `key`. */
  readonly end?: Buffer;
  readonly startRev: number;
}

export interface V3Client {
  txn(req: WireTxnRequest): Promise<Applied<kv.TxnResponse>>;
  /** Linearizable, as clientv3's Get by default. */
  range(req: WireRangeRequest): Promise<Applied<kv.RangeResponse>>;
  deleteRange(req: WireDeleteRangeRequest): Promise<Applied<kv.DeleteRangeResponse>>;
  /** LeaseGrant with a server-chosen ID. */
  grant(ttl: number): Promise<bigint>;
  /** Watch responses until `signal` aborts (or a compaction cancel, which is the last response). */
  watch(spec: WatchSpec, signal: AbortSignal): AsyncIterableIterator<StoreWatchResponse>;
}

/** clientv3/concurrency's defaultSessionTTL: the lease a Lock or Campaign without one gets. */
export const DEFAULT_SESSION_TTL = 60;


/** concurrency.NewSession: an existing lease, or (for lease 0, clientv3.NoLease) a fresh 60 s one. */
export async function sessionLease(c: V3Client, lease: bigint): Promise<bigint> {
  return lease === 0n ? c.grant(DEFAULT_SESSION_TTL) : lease;
}

/** `<prefix><lease in lowercase hex>`, as fmt's %x prints an int64 (a negative one with a minus sign). */
export function ownKey(prefix: Buffer, lease: bigint): Buffer {
  return Buffer.concat([prefix, Buffer.from(lease.toString(16))]);
}

export { prefixEnd } from "../../util/prefix-end.js";

export function rangeRequest(r: Partial<WireRangeRequest> & { key: Buffer }): WireRangeRequest {
  return {
    range_end: Buffer.alloc(0),
    limit: 0,
    revision: 0,
    sort_order: SortOrder.None,
    sort_target: SortTarget.Key,
    serializable: false,
    keys_only: false,
    count_only: false,
    min_mod_revision: 0,
    max_mod_revision: 0,
    min_create_revision: 0,
    max_create_revision: 0,
    ...r,
  };
}

/** clientv3.WithFirstCreate / WithLastCreate: the oldest (or newest) key under the prefix. */
export function byCreate(prefix: Buffer, order: SortOrder.Ascend | SortOrder.Descend, maxCreateRev = 0): WireRangeRequest {
  return rangeRequest({ key: prefix, range_end: prefixEnd(prefix), sort_target: SortTarget.Create, sort_order: order, limit: 1, max_create_revision: maxCreateRev });
}

/** Compare(CreateRevision(key), "=", rev). */
export function createdAt(key: Buffer, rev: number) {
  return { result: 0, target: 1, key, range_end: Buffer.alloc(0), target_union: "create_revision" as const, create_revision: rev };
}

export function putOp(key: Buffer, value: Buffer, lease: bigint) {
  return { request_put: { key, value, lease: lease.toString(), prev_kv: false, ignore_value: false, ignore_lease: false } };
}

export function getOp(r: WireRangeRequest) {
  return { request_range: r };
}

export function deleteOp(key: Buffer) {
  return { request_delete_range: { key, range_end: Buffer.alloc(0), prev_kv: false } };
}

export function rangeOf(op: kv.ResponseOp | undefined): kv.RangeResponse {
  if (!op || !("responseRange" in op)) throw new EtcdError(GrpcCode.Internal, "etcdserver: unexpected txn response");
  return op.responseRange;
}

/**
 * A recipe's wait ends with its context's error, as Go's ctx.Err() ("context deadline exceeded" or
 * "context canceled", code Unknown like every recipe error): never CANCELLED or DEADLINE_EXCEEDED.
 */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(contextError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(contextError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** concurrency's waitDelete: watch `key` from `rev` until it is deleted. */
async function waitDelete(c: V3Client, key: Buffer, rev: number, signal: AbortSignal): Promise<void> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  signal.addEventListener("abort", stop, { once: true });
  try {
    for await (const wr of c.watch({ key, startRev: rev }, ac.signal)) {
      if (wr.compactRevision !== 0) throw new EtcdError(GrpcCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted");
      if (wr.events.some((e) => e.type === EventType.Delete)) return;
    }
    if (signal.aborted) throw contextError(signal);
    throw new EtcdError(GrpcCode.Unknown, "lost watcher waiting for delete");
  } finally {
    signal.removeEventListener("abort", stop);
    ac.abort();
  }
}

/**
 * concurrency's waitDeletes: wait until no key under `prefix` was created at or before
 * `maxCreateRev` (every earlier waiter or holder is gone). Returns the header of the last read.
 */
export async function waitDeletes(c: V3Client, prefix: Buffer, maxCreateRev: number, signal: AbortSignal): Promise<Header> {
  for (;;) {
    const r = await abortable(c.range(byCreate(prefix, SortOrder.Descend, maxCreateRev)), signal);
    const last = r.response.kvs[0];
    if (!last) return r.header;
    await waitDelete(c, last.key, r.header.revision, signal);
  }
}

export { abortable };

/**
 * What the Lock and Election services answer when a recipe fails: etcd's recipes run on clientv3,
 * which turns a server error into a plain error value, so the service answers gRPC code Unknown
 * with etcd's message (e.g. "etcdserver: requested lease not found" with code 2, not NotFound).
 */
export async function asRecipeError<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    const err = toApiError(e);
    throw err.code === GrpcCode.Unknown ? err : new EtcdError(GrpcCode.Unknown, err.message);
  }
}
