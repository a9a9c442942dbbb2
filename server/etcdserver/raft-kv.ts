/**
 * KV requests and alarms as the server serves them (etcd's RaftKV): reads from the local store,
 * after a ReadIndex round unless serializable; writes proposed through raft and answered once
 * applied here; the space quota checked before a write that can grow the database.
 */
import type { Logger } from "../log/logger.js";
import type { ContextSignal } from "./request-context.js";
import type { MvccStore } from "../mvcc/index.js";
import { ErrNoSpace } from "../pb/errors.js";
import type * as kv from "../pb/kv.js";
import { AlarmAction, ProposalKind, payloads, type AuthStamp } from "../pb/raft-entry.js";
import { encodeAuthPayload, type AuthRequest } from "../pb/auth-entry.js";
import { applyRange, applyTxn, type LeaseHooks } from "./apply/index.js";
import type { AlarmResult, ApplyValue, AuthResult, CompactResult } from "./applier.js";
import { AlarmType } from "./alarm-store.js";
import { isTxnReadOnly, isTxnSerializable } from "./txn-kinds.js";
import { costPut, costTxn, quotaAvailable } from "./quota-cost.js";

/** What a KV request's caller gets back: the typed response and the header to send with it. */
export interface Applied<T> {
  readonly header: kv.Header;
  readonly response: T;
}

export interface RaftKvDeps {
  readonly memberId: bigint;
  readonly store: MvccStore;
  /** The lessor's view of leases, for read-only txns that check them. */
  readonly leaseHooks: () => LeaseHooks;
  propose(kind: ProposalKind, payload: Uint8Array, signal?: ContextSignal, stamp?: AuthStamp): Promise<ApplyValue>;
  /** Resolves once a linearizable read may be served locally (LinearizableReads.wait). */
  readIndex(signal?: ContextSignal): Promise<void>;
  header(revision?: number): kv.Header;
  /** The backend's size, and the quota it must stay under (--quota-backend-bytes). */
  dbSize(): number;
  readonly quotaBytes: number;
  readonly logger: Logger;
}

export class RaftKv {
  constructor(private readonly d: RaftKvDeps) {}

  // `signal`: the request's context (request-context.ts); when it aborts, waiting stops with etcd's answer.

  async range(req: kv.RangeRequest, signal?: ContextSignal): Promise<Applied<kv.RangeResponse>> {
    if (!req.serializable) await this.d.readIndex(signal);
    const response = applyRange(this.d.store, req);
    return { header: this.d.header(response.revision), response };
  }

  // `stamp`: who a client's write acts for (pb/raft-entry.ts AuthStamp), checked again at apply.

  async put(raw: Uint8Array, signal?: ContextSignal, stamp?: AuthStamp): Promise<Applied<kv.PutResponse>> {
    this.checkQuota(costPut(raw.length));
    const response = (await this.d.propose(ProposalKind.Put, raw, signal, stamp)) as kv.PutResponse;
    return { header: this.d.header(response.revision), response };
  }

  async deleteRange(raw: Uint8Array, signal?: ContextSignal, stamp?: AuthStamp): Promise<Applied<kv.DeleteRangeResponse>> {
    const response = (await this.d.propose(ProposalKind.DeleteRange, raw, signal, stamp)) as kv.DeleteRangeResponse;
    return { header: this.d.header(response.revision), response };
  }

  async txn(raw: Uint8Array, req: kv.TxnRequest, signal?: ContextSignal, stamp?: AuthStamp): Promise<Applied<kv.TxnResponse>> {
    if (isTxnReadOnly(req)) {
      if (!isTxnSerializable(req)) await this.d.readIndex(signal);
      const response = applyTxn(this.d.store, this.d.store.consistentIndex(), req, this.d.leaseHooks());
      return { header: this.d.header(response.revision), response };
    }
    this.checkQuota(costTxn(req));
    const response = (await this.d.propose(ProposalKind.Txn, raw, signal, stamp)) as kv.TxnResponse;
    return { header: this.d.header(response.revision), response };
  }

  async compact(raw: Uint8Array, physical: boolean, signal?: ContextSignal, stamp?: AuthStamp): Promise<Applied<undefined>> {
    const r = (await this.d.propose(ProposalKind.Compaction, raw, signal, stamp)) as CompactResult;
    if (physical) await r.done;
    return { header: this.d.header(r.revision), response: undefined };
  }

  /** A compaction the server decides on itself (auto compaction), through raft like a client's. */
  async compactInternal(revision: number): Promise<void> {
    await this.compact(payloads.compaction.encode({ revision, physical: false }), false);
  }

  /** An Alarm request (list, raise, clear) through raft, as etcd's: the alarms it answers with. */
  async alarm(action: number, memberId: bigint, alarm: number, signal?: ContextSignal, stamp?: AuthStamp): Promise<AlarmResult> {
    const payload = payloads.alarm.encode({ action, memberID: memberId.toString(), alarm });
    return (await this.d.propose(ProposalKind.Alarm, payload, signal, stamp)) as AlarmResult;
  }

  /** An auth store change or an Authenticate through raft (pb/auth-entry.ts). */
  async auth(r: AuthRequest, signal?: ContextSignal, stamp?: AuthStamp): Promise<AuthResult> {
    return (await this.d.propose(ProposalKind.Auth, encodeAuthPayload(r), signal, stamp)) as AuthResult;
  }

  /**
   * A request that can grow the database, when the database is over its quota: refused, and NOSPACE
   * raised for this member through raft (etcd's quotaAlarmer). While an alarm is raised, the apply
   * refuses such requests (alarm-apply.ts).
   */
  checkQuota(cost: number): void {
    if (quotaAvailable(this.d.dbSize(), cost, this.d.quotaBytes)) return;
    this.d.logger.warn({ "quota-size-bytes": this.d.quotaBytes }, "database space exceeded: raising the NOSPACE alarm");
    void this.alarm(AlarmAction.Activate, this.d.memberId, AlarmType.NoSpace).catch(() => undefined);
    throw ErrNoSpace;
  }
}
