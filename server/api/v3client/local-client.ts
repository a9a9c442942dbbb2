import type { Applied, EtcdServer } from "../../etcdserver/server.js";
import { ErrStopped } from "../../pb/errors.js";
import type * as kv from "../../pb/kv.js";
import type { WireDeleteRangeRequest, WireRangeRequest, WireTxnRequest } from "../../pb/wire.js";
import { deleteRangeFromWire, txnFromWire } from "../../pb/convert.js";
import { AUTO_WATCH_ID, type StoreWatchResponse } from "../../watch/watchable-store.js";
import type { LeaseHandlers } from "../grpc/lease-service.js";
import { serviceDefinition } from "../../pb/grpc-services.js";
import type { V3Client, WatchSpec } from "../concurrency/client.js";
import { rangeFromWire } from "../../pb/convert.js";
import { validateDeleteRange, validateRange, validateTxn } from "../../etcdserver/apply/validate.js";

/** The recipes' transactions have at most two operations per branch. */
const MAX_OPS = 128;

const kvDef = serviceDefinition("etcdserverpb", "KV");

/**
 * etcd's v3client: the member as a client of itself, for the Lock and Election services. Requests
 * take the same path as a remote client's (validation, raft, linearizable reads), so a lock taken
 * here is exactly the keys, leases and watches etcdctl would have created.
 */
export class LocalClient implements V3Client {
  constructor(
    private readonly server: EtcdServer,
    private readonly leases: LeaseHandlers,
  ) {}

  async txn(req: WireTxnRequest): Promise<Applied<kv.TxnResponse>> {
    const raw = kvDef.Txn!.requestSerialize(req) as Buffer;
    const typed = txnFromWire(kvDef.Txn!.requestDeserialize(raw) as WireTxnRequest);
    validateTxn(typed, MAX_OPS);
    return this.server.txn(raw, typed);
  }

  async range(req: WireRangeRequest): Promise<Applied<kv.RangeResponse>> {
    const r = rangeFromWire(req);
    validateRange(r);
    return this.server.range(r);
  }

  async deleteRange(req: WireDeleteRangeRequest): Promise<Applied<kv.DeleteRangeResponse>> {
    const raw = kvDef.DeleteRange!.requestSerialize(req) as Buffer;
    validateDeleteRange(deleteRangeFromWire(req));
    return this.server.deleteRange(raw);
  }

  async grant(ttl: number): Promise<bigint> {
    const r = await this.leases.grant({ TTL: ttl, ID: 0 });
    return BigInt(r.ID);
  }

  watch(spec: WatchSpec, signal: AbortSignal): AsyncIterableIterator<StoreWatchResponse> {
    const queue: StoreWatchResponse[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const finish = () => {
      done = true;
      stream?.close();
      wake?.();
    };
    let stream: ReturnType<EtcdServer["watchable"]["newStream"]> | undefined;
    try {
      stream = this.server.watchable.newStream({
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
}
