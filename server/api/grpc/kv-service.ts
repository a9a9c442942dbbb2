import type { MethodSpec } from "../../grpcwire/method.js";
import { methodSpecs } from "../../pb/grpc-services.js";
import { serializePutResponse } from "../../pb/put-response.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import type { KvService } from "../../etcdserver/requests/kv.js";
import type { WireCompactionRequest, WireDeleteRangeRequest, WirePutRequest, WireRangeRequest, WireTxnRequest, WithRaw } from "../../pb/wire.js";
import type { ServiceHandlers } from "./handlers.js";
import { unary } from "./unary.js";

/** The methods whose handler also gets the request's bytes as received (they go into the raft log as they are). */
export const KV_RAW_METHODS: readonly string[] = ["Put", "DeleteRange", "Txn", "Compact"];

/** The KV methods the server registers: the write methods also get their raw bytes; Put answers through serializePutResponse (same bytes, less work). */
export function kvSpecs(): Record<string, MethodSpec<unknown, unknown>> {
  const specs = methodSpecs("etcdserverpb", "KV");
  for (const name of KV_RAW_METHODS) {
    const m = specs[name]!;
    specs[name] = { ...m, decode: (b: Buffer) => ({ raw: b, msg: m.decode(b) }) };
  }
  specs["Put"] = { ...specs["Put"]!, encode: serializePutResponse as (v: unknown) => Buffer };
  return specs;
}

export function kvService(h: KvService, metrics: ServerMetrics): ServiceHandlers {
  const svc = "etcdserverpb.KV";
  return {
    Range: unary(metrics, svc, "Range", (ctx, r: WireRangeRequest) => h.range(ctx, r)),
    Put: unary(metrics, svc, "Put", (ctx, r: WithRaw<WirePutRequest>) => h.put(ctx, r)),
    DeleteRange: unary(metrics, svc, "DeleteRange", (ctx, r: WithRaw<WireDeleteRangeRequest>) => h.deleteRange(ctx, r)),
    Txn: unary(metrics, svc, "Txn", (ctx, r: WithRaw<WireTxnRequest>) => h.txn(ctx, r)),
    Compact: unary(metrics, svc, "Compact", (ctx, r: WithRaw<WireCompactionRequest>) => h.compact(ctx, r)),
  };
}
