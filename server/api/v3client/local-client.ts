import type { Applied } from "../../etcdserver/server.js";
import { requestContext, type RequestContext } from "../../etcdserver/requests/context.js";
import type { KvRequests } from "../../etcdserver/requests/kv.js";
import type { LeaseService } from "../../etcdserver/requests/lease.js";
import type { WatchService } from "../../etcdserver/requests/watch-session.js";
import { toApiError } from "../../etcdserver/requests/api-errors.js";
import { ErrStopped } from "../../pb/errors.js";
import type * as kv from "../../pb/kv.js";
import { deleteRangeFromWire, rangeFromWire, txnFromWire } from "../../pb/convert.js";
import { payloads } from "../../pb/raft-entry.js";
import type { WireDeleteRangeRequest, WireRangeRequest, WireTxnRequest } from "../../pb/wire.js";
import { AUTO_WATCH_ID, type StoreWatchResponse, type WatchStream } from "../../watch/watchable-store.js";
import type { V3Client, WatchSpec } from "../concurrency/client.js";

/** The recipes' transactions have at most two operations per branch: they are checked against this, not --max-txn-ops. */
const RECIPE_MAX_TXN_OPS = 128;

/** What the member's own client calls: the request layer, as a remote client's requests reach it. */
export interface LocalServices {
  readonly kv: KvRequests;
  readonly lease: LeaseService;
  readonly watch: WatchService;
}

/**
 * etcd's v3client: the member as a client of itself, for the Lock and Election services. Requests
 * go through the request layer with the caller's context (validation, raft, linearizable reads, and
 * whatever checks that layer makes of the caller), so a lock taken here is exactly the keys, leases
 * and watches etcdctl would have created. Errors come back as the API answers them (toApiError), as
 * etcd's v3client sees them through its gRPC adapters.
 */
export class LocalClient {
  constructor(private readonly s: LocalServices) {}

  /**
   * A client acting for the request `ctx`, but on its own time: as clientv3's recipes, its calls do
   * not end with the caller's signal (a waiter whose caller went away must still delete its key);
   * the recipes stop waiting on the signal themselves.
   */
  as(caller: RequestContext): V3Client {
    const s = this.s;
    const ctx: RequestContext = { ...caller, signal: requestContext().signal };
    const api = <T>(p: Promise<T>): Promise<T> => p.catch((e: unknown) => Promise.reject(toApiError(e)));
    return {
      txn(req: WireTxnRequest): Promise<Applied<kv.TxnResponse>> {
        const raw = payloads.txn.encode(req);
        return api(s.kv.txnOf(ctx, txnFromWire(payloads.txn.decode(raw)), raw, RECIPE_MAX_TXN_OPS));
      },
      range(req: WireRangeRequest): Promise<Applied<kv.RangeResponse>> {
        return api(s.kv.rangeOf(ctx, rangeFromWire(req)));
      },
      deleteRange(req: WireDeleteRangeRequest): Promise<Applied<kv.DeleteRangeResponse>> {
        return api(s.kv.deleteRangeOf(ctx, deleteRangeFromWire(req), payloads.deleteRange.encode(req)));
      },
      async grant(ttl: number): Promise<bigint> {
        const r = await api(s.lease.grant(ctx, { TTL: ttl, ID: 0 }));
        return BigInt(r.ID);
      },
      watch: (spec: WatchSpec, signal: AbortSignal) => watchStore(s.watch, ctx, spec, signal),
    };
  }
}

/** The store's responses for one watcher as an async iterator, until `signal` aborts. */
function watchStore(watch: WatchService, ctx: RequestContext, spec: WatchSpec, signal: AbortSignal): AsyncIterableIterator<StoreWatchResponse> {
  const queue: StoreWatchResponse[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const finish = () => {
    done = true;
    stream?.close();
    wake?.();
  };
  let stream: WatchStream | undefined;
  try {
    stream = watch.storeStream(ctx, {
      writable: () => true,
      send: (r) => {
        queue.push(r);
        wake?.();
      },
    });
  } catch {
    throw ErrStopped;
  }
  stream.watch(AUTO_WATCH_ID, { key: spec.key, end: spec.end, startRev: spec.startRev });
  if (signal.aborted) finish();
  else signal.addEventListener("abort", finish, { once: true });
  const it: AsyncIterableIterator<StoreWatchResponse> = {
    [Symbol.asyncIterator]: () => it,
    next: async () => {
      while (queue.length === 0 && !done) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      const v = queue.shift();
      if (v) return { value: v, done: false };
      return { value: undefined, done: true };
    },
    return: async () => {
      signal.removeEventListener("abort", finish);
      finish();
      return { value: undefined, done: true };
    },
  };
  return it;
}
