import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../../etcdserver/server.js";
import { validateDeleteRange, validatePut, validateRange, validateTxn } from "../../etcdserver/apply/validate.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import {
  compactionFromWire,
  deleteRangeFromWire,
  deleteRangeResponseToWire,
  putFromWire,
  putResponseToWire,
  rangeFromWire,
  rangeResponseToWire,
  txnFromWire,
  txnResponseToWire,
} from "../../pb/convert.js";
import type { WireCompactionRequest, WireDeleteRangeRequest, WirePutRequest, WireRangeRequest, WireTxnRequest } from "../../pb/wire.js";
import { headerToWire } from "./header.js";
import { ErrEmptyKey, ErrKeyNotFound } from "../../pb/errors.js";
import type { WithRaw } from "./raw-requests.js";
import { unary } from "./unary.js";

/** KV requests from any front end (gRPC or the JSON gateway): validated, then delegated to the server. */
export class KvHandlers {
  constructor(
    private readonly server: EtcdServer,
    private readonly maxTxnOps: number,
  ) {}

  // `signal`: the request's context (etcdserver/request-context.ts), absent for callers without one.

  async range(w: WireRangeRequest, signal?: AbortSignal) {
    const req = rangeFromWire(w);
    validateRange(req);
    const { header, response } = await this.server.range(req, signal);
    return { header: headerToWire(header), ...rangeResponseToWire(response) };
  }

  async put({ raw, msg }: WithRaw<WirePutRequest>, signal?: AbortSignal) {
    validatePut(putFromWire(msg));
    const { header, response } = await this.server.put(raw, signal);
    return { header: headerToWire(header), ...putResponseToWire(response) };
  }

  async deleteRange({ raw, msg }: WithRaw<WireDeleteRangeRequest>, signal?: AbortSignal) {
    validateDeleteRange(deleteRangeFromWire(msg));
    const { header, response } = await this.server.deleteRange(raw, signal);
    return { header: headerToWire(header), ...deleteRangeResponseToWire(response) };
  }

  async txn({ raw, msg }: WithRaw<WireTxnRequest>, signal?: AbortSignal) {
    const req = txnFromWire(msg);
    try {
      validateTxn(req, this.maxTxnOps);
    } catch (e) {
      // an op with nothing set reaches validation as an empty-key range; etcd's checkRequestOp refuses it as "key not found"
      if (e === ErrEmptyKey && firstEmptyKeyIsEmptyOp(msg)) throw ErrKeyNotFound;
      throw e;
    }
    const { header, response } = await this.server.txn(raw, req, signal);
    return { header: headerToWire(header), ...txnResponseToWire(response) };
  }

  async compact({ raw, msg }: WithRaw<WireCompactionRequest>, signal?: AbortSignal) {
    const req = compactionFromWire(msg);
    const { header } = await this.server.compact(raw, req.physical, signal);
    return { header: headerToWire(header) };
  }
}

/**
 * Whether the first empty key etcd's checkTxnRequest meets (compares, then the success ops, then
 * the failure ops, nested txns in place) is an op with nothing set.
 */
function firstEmptyKeyIsEmptyOp(t: WireTxnRequest): boolean | undefined {
  if ((t.compare ?? []).some((c) => !c.key || c.key.length === 0)) return false;
  for (const op of [...(t.success ?? []), ...(t.failure ?? [])]) {
    const single = op.request_range ?? op.request_put ?? op.request_delete_range;
    if (single) {
      if (!single.key || single.key.length === 0) return false;
    } else if (op.request_txn) {
      const nested = firstEmptyKeyIsEmptyOp(op.request_txn);
      if (nested !== undefined) return nested;
    } else return true;
  }
  return undefined;
}

export const KV_RAW_METHODS = ["Put", "DeleteRange", "Txn", "Compact"] as const;

export function kvService(h: KvHandlers, metrics: ServerMetrics): UntypedServiceImplementation {
  const svc = "etcdserverpb.KV";
  return {
    Range: unary(metrics, svc, "Range", (r: WireRangeRequest, signal) => h.range(r, signal)),
    Put: unary(metrics, svc, "Put", (r: WithRaw<WirePutRequest>, signal) => h.put(r, signal)),
    DeleteRange: unary(metrics, svc, "DeleteRange", (r: WithRaw<WireDeleteRangeRequest>, signal) => h.deleteRange(r, signal)),
    Txn: unary(metrics, svc, "Txn", (r: WithRaw<WireTxnRequest>, signal) => h.txn(r, signal)),
    Compact: unary(metrics, svc, "Compact", (r: WithRaw<WireCompactionRequest>, signal) => h.compact(r, signal)),
  };
}
