/**
 * The KV service (etcd's RaftKV): requests validated as etcd's API checks them, then served by the
 * server (linearizable reads, proposals through raft). gRPC and the JSON gateway call the
 * protobuf-shaped methods; the member's own recipes (Lock, Election) call the typed ones, so every
 * caller passes through the same checks.
 */
import type { Applied, EtcdServer } from "../server.js";
import { validateDeleteRange, validatePut, validateRange, validateTxn } from "../apply/validate.js";
import {
  compactionFromWire,
  deleteRangeFromWire,
  deleteRangeResponseToWire,
  headerToWire,
  putFromWire,
  putResponseToWire,
  rangeFromWire,
  rangeResponseToWire,
  txnFromWire,
  txnResponseToWire,
  type WireRangeResponse,
  type WireTxnResponse,
} from "../../pb/convert.js";
import { ErrEmptyKey, ErrKeyNotFound } from "../../pb/errors.js";
import type * as kv from "../../pb/kv.js";
import type { WireCompactionRequest, WireDeleteRangeRequest, WireHeader, WireKeyValue, WirePutRequest, WireRangeRequest, WireTxnRequest, WithRaw } from "../../pb/wire.js";
import type { RequestContext } from "./context.js";

export interface Headed {
  header: WireHeader;
}

export interface KvService {
  range(ctx: RequestContext, req: WireRangeRequest): Promise<Headed & WireRangeResponse>;
  put(ctx: RequestContext, req: WithRaw<WirePutRequest>): Promise<Headed & { prev_kv?: WireKeyValue }>;
  deleteRange(ctx: RequestContext, req: WithRaw<WireDeleteRangeRequest>): Promise<Headed & { deleted: number; prev_kvs: WireKeyValue[] }>;
  txn(ctx: RequestContext, req: WithRaw<WireTxnRequest>): Promise<Headed & WireTxnResponse>;
  compact(ctx: RequestContext, req: WithRaw<WireCompactionRequest>): Promise<Headed>;
}

export class KvRequests implements KvService {
  constructor(
    private readonly server: EtcdServer,
    private readonly maxTxnOps: number,
  ) {}

  async range(ctx: RequestContext, w: WireRangeRequest) {
    const { header, response } = await this.rangeOf(ctx, rangeFromWire(w));
    return { header: headerToWire(header), ...rangeResponseToWire(response) };
  }

  async put(ctx: RequestContext, { raw, msg }: WithRaw<WirePutRequest>) {
    validatePut(putFromWire(msg));
    const { header, response } = await this.server.put(raw, ctx.signal);
    return { header: headerToWire(header), ...putResponseToWire(response) };
  }

  async deleteRange(ctx: RequestContext, { raw, msg }: WithRaw<WireDeleteRangeRequest>) {
    const { header, response } = await this.deleteRangeOf(ctx, deleteRangeFromWire(msg), raw);
    return { header: headerToWire(header), ...deleteRangeResponseToWire(response) };
  }

  async txn(ctx: RequestContext, { raw, msg }: WithRaw<WireTxnRequest>) {
    const req = txnFromWire(msg);
    try {
      validateTxn(req, this.maxTxnOps);
    } catch (e) {
      // an op with nothing set reaches validation as an empty-key range; etcd's checkRequestOp refuses it as "key not found"
      if (e === ErrEmptyKey && firstEmptyKeyIsEmptyOp(msg)) throw ErrKeyNotFound;
      throw e;
    }
    const { header, response } = await this.server.txn(raw, req, ctx.signal);
    return { header: headerToWire(header), ...txnResponseToWire(response) };
  }

  async compact(ctx: RequestContext, { raw, msg }: WithRaw<WireCompactionRequest>) {
    const req = compactionFromWire(msg);
    const { header } = await this.server.compact(raw, req.physical, ctx.signal);
    return { header: headerToWire(header) };
  }

  // ---- typed: the member's own recipes ------------------------------------------------------

  async rangeOf(ctx: RequestContext, req: kv.RangeRequest): Promise<Applied<kv.RangeResponse>> {
    validateRange(req);
    return this.server.range(req, ctx.signal);
  }

  /** `raw`: the request's protobuf bytes. */
  async txnOf(ctx: RequestContext, req: kv.TxnRequest, raw: Buffer, maxTxnOps = this.maxTxnOps): Promise<Applied<kv.TxnResponse>> {
    validateTxn(req, maxTxnOps);
    return this.server.txn(raw, req, ctx.signal);
  }

  async deleteRangeOf(ctx: RequestContext, req: kv.DeleteRangeRequest, raw: Buffer): Promise<Applied<kv.DeleteRangeResponse>> {
    validateDeleteRange(req);
    return this.server.deleteRange(raw, ctx.signal);
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
