/**
 * Requests to an in-process member's server, as the request layer makes them (api/ translates a
 * gRPC call into these): encoded puts, ranges with etcd's defaults, lease grants.
 */
import type { EtcdServer } from "../../../server/etcdserver/server.js";
import type { LeaseGrantResult } from "../../../server/etcdserver/applier.js";
import { SortOrder, SortTarget, type RangeRequest } from "../../../server/pb/kv.js";
import { payloads } from "../../../server/pb/raft-entry.js";

export function put(server: EtcdServer, key: string, value: string, lease = 0n): Promise<{ revision: number }> {
  const raw = payloads.put.encode({ key: Buffer.from(key), value: Buffer.from(value), lease: lease.toString(), prev_kv: false, ignore_value: false, ignore_lease: false });
  return server.put(raw).then((r) => ({ revision: r.response.revision }));
}

/** The value of `key` (undefined if absent) and its mod revision (0 if absent); linearizable unless `serializable`. */
export async function get(server: EtcdServer, key: string, serializable = false): Promise<{ value: string | undefined; modRevision: number; revision: number }> {
  const r = await server.range(rangeOf(key, serializable));
  const kv = r.response.kvs[0];
  return { value: kv ? Buffer.from(kv.value).toString() : undefined, modRevision: kv ? Number(kv.modRevision) : 0, revision: r.header.revision };
}

export function grantLease(server: EtcdServer, ttlSeconds: number): Promise<LeaseGrantResult> {
  return server.leases.grant(ttlSeconds, 0n);
}

function rangeOf(key: string, serializable: boolean): RangeRequest {
  return {
    key: Buffer.from(key),
    rangeEnd: Buffer.alloc(0),
    limit: 0,
    revision: 0,
    sortOrder: SortOrder.None,
    sortTarget: SortTarget.Key,
    serializable,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
  };
}
