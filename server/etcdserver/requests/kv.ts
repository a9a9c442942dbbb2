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
import { isTxnReadOnly } from "../txn-kinds.js";
import type * as kv from "../../pb/kv.js";
import type { WireCompactionRequest, WireDeleteRangeRequest, WireHeader, WireKeyValue, WirePutRequest, WireRangeRequest, WireTxnRequest, WithRaw } from "../../pb/wire.js";
import { waitSignal, type RequestContext } from "./context.js";
import type { Access } from "./access.js";
import type { AuthInfo } from "../../auth/auth-store.js";

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

/**
 * Every request is checked by `access` (access.ts) when it is given: reads before and after they are
 * served, writes before they are proposed (their stamp is checked again at apply).
 */
export class KvRequests implements KvService {
  constructor(
    private readonly server: EtcdServer,
    private readonly maxTxnOps: number,
    private readonly access?: Access,
  ) {}

  async range(ctx: RequestContext, w: WireRangeRequest) {
    const { header, response } = await this.rangeOf(ctx, rangeFromWire(w));
    return { header: headerToWire(header), ...rangeResponseToWire(response) };
  }

  async put(ctx: RequestContext, { raw, msg }: WithRaw<WirePutRequest>) {
    const req = putFromWire(msg);
    validatePut(req);
    const ai = await this.access?.check(ctx, (a) => this.access!.put(a, req, this.leaseKeys(req.lease)));
    const { header, response } = await this.server.put(raw, waitSignal(ctx), this.access?.stampOf(ai));
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
    const { header, response } = await this.txnChecked(ctx, req, raw);
    return { header: headerToWire(header), ...txnResponseToWire(response) };
  }

  async compact(ctx: RequestContext, { raw, msg }: WithRaw<WireCompactionRequest>) {
    const req = compactionFromWire(msg);
    const ai = await this.access?.check(ctx, this.access.admin);
    const { header } = await this.server.compact(raw, req.physical, waitSignal(ctx), this.access?.stampOf(ai));
    return { header: headerToWire(header) };
  }

  // ---- typed: the member's own recipes ------------------------------------------------------

  async rangeOf(ctx: RequestContext, req: kv.RangeRequest): Promise<Applied<kv.RangeResponse>> {
    validateRange(req);
    // The waits take the context's LazySignal (waitSignal): asking for ctx.signal made an
    // AbortController and its EventTarget for every read, most of which never wait at all.
    const signal = waitSignal(ctx);
    if (!this.access) return this.server.range(req, signal);
    // etcd: the linearizable read first, then the check, the read, and the revision check
    if (!req.serializable) await this.server.linearizableRead(signal);
    const ai = await this.access.check(ctx, (a) => this.access!.range(a, req.key, req.rangeEnd));
    const res = await this.server.range({ ...req, serializable: true }, signal);
    this.access.stillCurrent(ai);
    return res;
  }

  /** `raw`: the request's protobuf bytes. */
  async txnOf(ctx: RequestContext, req: kv.TxnRequest, raw: Buffer, maxTxnOps = this.maxTxnOps): Promise<Applied<kv.TxnResponse>> {
    validateTxn(req, maxTxnOps);
    return this.txnChecked(ctx, req, raw);
  }

  async deleteRangeOf(ctx: RequestContext, req: kv.DeleteRangeRequest, raw: Buffer): Promise<Applied<kv.DeleteRangeResponse>> {
    validateDeleteRange(req);
    const ai = await this.access?.check(ctx, (a) => this.access!.deleteRange(a, req));
    return this.server.deleteRange(raw, waitSignal(ctx), this.access?.stampOf(ai));
  }

  /** A validated txn, checked: a read-only one is also refused if the auth revision moved while it was served. */
  private async txnChecked(ctx: RequestContext, req: kv.TxnRequest, raw: Buffer): Promise<Applied<kv.TxnResponse>> {
    if (!this.access) return this.server.txn(raw, req, waitSignal(ctx));
    const ai: AuthInfo | undefined = await this.access.check(ctx, (a) => this.access!.txn(a, req));
    const res = await this.server.txn(raw, req, waitSignal(ctx), this.access.stampOf(ai));
    if (isTxnReadOnly(req)) this.access.stillCurrent(ai);
    return res;
  }

  /** The keys a lease holds (a put attaching it must be allowed to write them all, as etcd checks). */
  private leaseKeys(id: bigint): Buffer[] {
    return id === 0n ? [] : (this.server.leases.lessor.lookup(id)?.keys() ?? []);
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
