import type { MethodDefinition, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { serviceDefinition } from "../../pb/grpc-services.js";
import { serializePutResponse } from "../../pb/put-response.js";
import { keepRawBytes } from "./raw-requests.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import type { KvService } from "../../etcdserver/requests/kv.js";
import type { WireCompactionRequest, WireDeleteRangeRequest, WirePutRequest, WireRangeRequest, WireTxnRequest, WithRaw } from "../../pb/wire.js";
import { unary } from "./unary.js";

/** The methods whose handler also gets the request's bytes as received (they go into the raft log as they are). */
export const KV_RAW_METHODS = ["Put", "DeleteRange", "Txn", "Compact"] as const;

/** The KV definition the server registers: the write methods also get their raw bytes; Put answers through serializePutResponse (same bytes, less work). */
export function kvDefinition(): ServiceDefinition {
  const def = keepRawBytes(serviceDefinition("etcdserverpb", "KV"), KV_RAW_METHODS);
  return { ...def, Put: { ...(def.Put as MethodDefinition<unknown, unknown>), responseSerialize: serializePutResponse } };
}

export function kvService(h: KvService, metrics: ServerMetrics): UntypedServiceImplementation {
  const svc = "etcdserverpb.KV";
  return {
    Range: unary(metrics, svc, "Range", (ctx, r: WireRangeRequest) => h.range(ctx, r)),
    Put: unary(metrics, svc, "Put", (ctx, r: WithRaw<WirePutRequest>) => h.put(ctx, r)),
    DeleteRange: unary(metrics, svc, "DeleteRange", (ctx, r: WithRaw<WireDeleteRangeRequest>) => h.deleteRange(ctx, r)),
    Txn: unary(metrics, svc, "Txn", (ctx, r: WithRaw<WireTxnRequest>) => h.txn(ctx, r)),
    Compact: unary(metrics, svc, "Compact", (ctx, r: WithRaw<WireCompactionRequest>) => h.compact(ctx, r)),
  };
}
