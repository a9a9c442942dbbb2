import { formatGoDuration } from "../config/go-duration.js";
import type { Logger } from "../log/logger.js";
import { applyChange, type Cluster } from "../membership/cluster.js";
import { idToHex } from "../membership/ids.js";
import { BackendFailedError } from "../backend/index.js";
import { isRequestError } from "../pb/errors.js";
import { ErrLeaseNotFound } from "../lease/errors.js";
import { ErrAuthNotEnabled } from "../auth/errors.js";
import type * as kv from "../pb/kv.js";
import { ConfChangeType, EntryType, type ConfChange, type ConfState, type Entry } from "../raft/types.js";
import { applyCompaction, applyDeleteRange, applyPut, applyTxn, type LeaseHooks } from "./apply/index.js";
import type { MvccStore } from "../mvcc/index.js";
import { ProposalKind } from "../pb/raft-entry.js";
import { decodeNormalEntry, type DecodedRequest } from "./entry-decode.js";
import { planConfChange } from "./conf-change-plan.js";
import type { WaitRegistry } from "./wait.js";
import type { Lessor } from "../lease/lessor.js";
import type { AlarmMember, AlarmStore } from "./alarm-store.js";
import { alarmRefusal, applyAlarm } from "./alarm-apply.js";
import type { AuthStore } from "../auth/auth-store.js";
import type { AuthStamp } from "../pb/raft-entry.js";
import { applyAuth, checkAtApply, type AppliedTokens, type AuthApplyResult } from "./auth-apply.js";
import { trace, TRACING } from "../util/latency-trace.js";

export type ApplyValue = kv.PutResponse | kv.DeleteRangeResponse | kv.TxnResponse | CompactResult | LeaseGrantResult | LeaseRevokeResult | AlarmResult | AuthResult | undefined;

export interface AuthResult extends AuthApplyResult {
  /** The revision for the response header (the current revision). */
  readonly revision: number;
}

export interface AlarmResult {
  readonly alarms: AlarmMember[];
  readonly revision: number;
}

export interface LeaseGrantResult {
  readonly id: bigint;
  readonly ttl: number;
  /** The revision for the response header (the current revision). */
  readonly revision: number;
}

export interface LeaseRevokeResult {
  /** The revision for the response header (after the attached keys were deleted). */
  readonly revision: number;
}

export type ApplyResult =
  | { readonly ok: true; readonly value: ApplyValue }
  | { readonly ok: false; readonly err: Error };

export interface CompactResult {
  readonly revision: number;
  readonly done: Promise<void>;
}

/** For an applier without a lessor: no lease ID is valid (a put with a lease fails as etcd's would with an unknown lease). */
export const NO_LEASES: LeaseHooks = {
  exists: () => false,
  attach: () => {
    throw ErrLeaseNotFound;
  },
  detach: () => undefined,
  leaseOf: () => 0n,
};

const NO_RANGE_END = Buffer.alloc(0);

export interface ApplierHooks {
  /** Raft's configuration now (the one the next conf change is checked against). */
  confState(): ConfState;
  applyConfChange(cc: ConfChange): ConfState;
  /** The leader's no-op of `term` was applied: reads and publishing may start. */
  onNoopApplied(term: number): void;
  onClusterChanged(c: Cluster): void;
  onClusterVersion(version: string): void;
}

/**
 * A failure of this member's storage, not of the entry: the member must stop and restart from the
 * WAL (which still holds the entry). Any other failure is a property of the entry and the same on
 * every member.
 */
function isStorageFailure(e: unknown): boolean {
  if (e instanceof BackendFailedError) return true;
  if (!(e instanceof Error)) return false;
  return e.name === "StoreClosedError" || typeof (e as NodeJS.ErrnoException).syscall === "string" || /\bMDB_/.test(e.message);
}

/**
 * Applies committed entries in log order. Apply is total: every entry gives the same result on every
 * member, whatever its bytes; an entry that does not decode, or a request or conf change that does
 * not fit, is a no-op (logged once, with its index) and its proposer gets the error. Only a storage
 * failure stops the member.
 *
 * Every entry moves the store's consistent index, so after a backend flush the index covers all
 * entries applied so far (a snapshot at the applied index is never ahead of its backend). KV entries
 * at or below the consistent index were applied before a restart and are skipped (their effects are
 * in the backend); membership entries are re-applied from the snapshot's membership, which makes them
 * idempotent.
 */
export interface ApplierDeps {
  readonly store: MvccStore;
  /** The membership as of `appliedIndex`. */
  readonly cluster: Cluster;
  readonly appliedIndex: number;
  readonly waits: WaitRegistry<ApplyResult>;
  readonly hooks: ApplierHooks;
  readonly logger: Logger;
  readonly leases?: LeaseHooks;
  /** Applies LeaseGrant/LeaseRevoke entries (without it they fail with ErrLeaseNotFound). */
  readonly lessor?: Lessor;
  /** Applies Alarm entries; its NOSPACE and CORRUPT alarms refuse requests (without it Alarm entries list nothing). */
  readonly alarms?: AlarmStore;
  /** Applies Auth entries and checks stamped requests (without it Auth entries fail with ErrAuthNotEnabled). */
  readonly auth?: AuthStore;
  /** This member's token provider: the simple tokens an Authenticate assigns. */
  readonly tokens?: AppliedTokens;
  /** A request whose apply takes longer than this is logged (etcd's --experimental-warning-apply-duration, 100 ms). */
  readonly warnApplyMs?: number;
  /** Milliseconds, for timing applies (a test passes its own). */
  readonly now?: () => number;
}

export class Applier {
  appliedIndex: number;
  appliedTerm = 0;
  private cluster: Cluster;
  private readonly store: MvccStore;
  private readonly waits: WaitRegistry<ApplyResult>;
  private readonly hooks: ApplierHooks;
  private readonly logger: Logger;
  private readonly leases: LeaseHooks;
  private readonly lessor: Lessor | undefined;
  private readonly alarms: AlarmStore | undefined;
  private readonly auth: AuthStore | undefined;
  private readonly tokens: AppliedTokens | undefined;
  private readonly warnApplyMs: number;
  private readonly now: () => number;

  constructor(d: ApplierDeps) {
    this.warnApplyMs = d.warnApplyMs ?? 100;
    this.now = d.now ?? (() => performance.now());
    this.store = d.store;
    this.cluster = d.cluster;
    this.appliedIndex = d.appliedIndex;
    this.waits = d.waits;
    this.hooks = d.hooks;
    this.logger = d.logger;
    this.leases = d.leases ?? NO_LEASES;
    this.lessor = d.lessor;
    this.alarms = d.alarms;
    this.auth = d.auth;
    this.tokens = d.tokens;
  }

  membership(): Cluster {
    return this.cluster;
  }

  /** After a snapshot from the leader replaced the state. */
  reset(cluster: Cluster, index: number, term: number): void {
    this.cluster = cluster;
    this.appliedIndex = index;
    this.appliedTerm = term;
  }

  apply(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index <= this.appliedIndex) continue;
      const replay = e.index <= this.store.consistentIndex();
      if (e.type === EntryType.ConfChange) this.applyConfChange(e, replay);
      else this.applyNormal(e, replay);
      this.store.setConsistentIndex(e.index, e.term);
      this.appliedIndex = e.index;
      this.appliedTerm = e.term;
    }
  }

  private refused(e: Entry, replay: boolean, reason: string): void {
    // a restart replays entries above the snapshot: they were logged when first applied
    if (!replay) this.logger.warn({ index: e.index, term: e.term, reason }, "ignoring a committed raft entry that cannot be applied (no-op on every member)");
  }

  private applyConfChange(e: Entry, replay: boolean): void {
    const plan = planConfChange(e.data, this.hooks.confState(), this.cluster);
    if (!plan.ok) {
      this.refused(e, replay, plan.reason);
      if (plan.requestId !== undefined) this.waits.trigger(plan.requestId, { ok: false, err: plan.err ?? new Error(`etcdserver: ${plan.reason}`) });
      return;
    }
    try {
      this.hooks.applyConfChange(plan.cc);
    } catch (err) {
      // raft refuses before it changes anything (e.g. a change that would leave no voter)
      this.refused(e, replay, `raft refused the conf change: ${String(err)}`);
      if (plan.requestId !== undefined) this.waits.trigger(plan.requestId, { ok: false, err: new Error(`etcdserver: ${String(err)}`) });
      return;
    }
    const next = applyChange(this.cluster, plan.change);
    this.cluster = next;
    this.logger.info({ "cluster-id": idToHex(next.clusterId), "member-id": idToHex(plan.cc.nodeId), change: ConfChangeType[plan.cc.type] }, "applied a membership change");
    this.hooks.onClusterChanged(next);
    // Conf changes proposed by this member carry their request id in the context.
    if (plan.requestId !== undefined) this.waits.trigger(plan.requestId, { ok: true, value: undefined });
  }

  private applyNormal(e: Entry, replay: boolean): void {
    const d = decodeNormalEntry(e.data);
    if (d.type === "noop") {
      this.hooks.onNoopApplied(e.term);
      return;
    }
    if (d.type === "invalid") {
      this.refused(e, replay, d.reason);
      if (d.id !== undefined && d.err) this.waits.trigger(d.id, { ok: false, err: d.err });
      return;
    }
    let result: ApplyResult;
    const started = this.now();
    try {
      result = { ok: true, value: this.applyRequest(d.request, e.index, replay, d.stamp) };
      this.warnIfSlow(d.request, started);
    } catch (err) {
      if (isStorageFailure(err)) throw err;
      if (isRequestError(err)) {
        result = { ok: false, err };
      } else {
        // the same code on the same bytes fails the same way on every member: a no-op everywhere
        this.logger.error({ index: e.index, term: e.term, error: String(err) }, "applying a committed raft entry failed; it has no effect");
        result = { ok: false, err: err instanceof Error ? err : new Error(String(err)) };
      }
    }
    if (TRACING) trace("applyEntry", e.index, d.id);
    this.waits.trigger(d.id, result);
  }

  /** etcd's warnOfExpensiveRequest after an apply. */
  private warnIfSlow(r: DecodedRequest, started: number): void {
    const took = this.now() - started;
    if (took <= this.warnApplyMs) return;
    this.logger.warn(
      { took: formatGoDuration(took), "expected-duration": formatGoDuration(this.warnApplyMs), prefix: "", request: ProposalKind[r.kind] },
      "apply request took too long",
    );
  }

  private applyRequest(r: DecodedRequest, index: number, replay: boolean, stamp: AuthStamp | undefined): ApplyValue {
    if (!replay && this.alarms) {
      const refused = alarmRefusal(this.alarms, r);
      if (refused) throw refused;
    }
    // the request's permissions were checked at stamp.revision: refused if the auth state moved since
    if (!replay) checkAtApply(this.auth, r, stamp);
    switch (r.kind) {
      case ProposalKind.Put:
        return replay ? undefined : this.store.write(index, (txn) => applyPut(txn, r.req, this.leases));
      case ProposalKind.DeleteRange:
        return replay ? undefined : this.store.write(index, (txn) => applyDeleteRange(txn, r.req));
      case ProposalKind.Txn:
        return replay ? undefined : applyTxn(this.store, index, r.req, this.leases);
      case ProposalKind.Compaction: {
        if (replay) return undefined;
        const { done } = applyCompaction(this.store, index, r.req);
        return { revision: this.store.currentRevision(), done };
      }
      case ProposalKind.MemberAttributes: {
        const next = applyChange(this.cluster, { kind: "attributes", id: r.memberId, name: r.name, clientUrls: r.clientUrls });
        this.cluster = next;
        this.hooks.onClusterChanged(next);
        return undefined;
      }
      case ProposalKind.ClusterVersion:
        this.hooks.onClusterVersion(r.version);
        return undefined;
      case ProposalKind.LeaseGrant: {
        if (replay) return undefined; // the lease bucket already holds it (same backend batch as the index)
        if (!this.lessor) throw ErrLeaseNotFound;
        const l = this.lessor.grant(r.id, r.ttl);
        return { id: l.id, ttl: l.ttl, revision: this.store.currentRevision() };
      }
      case ProposalKind.Alarm:
        // replayed: the alarm bucket already holds it (same backend batch as the index)
        return replay ? undefined : { alarms: applyAlarm(this.alarms, r.action, r.memberId, r.alarm), revision: this.store.currentRevision() };
      case ProposalKind.Auth: {
        // replayed: the auth buckets already hold it (same backend batch as the index)
        if (replay) return undefined;
        if (!this.auth) throw ErrAuthNotEnabled;
        return { ...applyAuth(this.auth, r.auth, index, this.tokens), revision: this.store.currentRevision() };
      }
      case ProposalKind.LeaseCheckpoint:
        // in memory only, as etcd 3.4 (a replay sets it again; a restart starts without)
        for (const c of r.checkpoints) this.lessor?.checkpoint(c.id, c.remainingTtl);
        return undefined;
      case ProposalKind.LeaseRevoke: {
        if (replay) return undefined;
        if (!this.lessor) throw ErrLeaseNotFound;
        // the attached keys go in ONE write transaction (one revision, delete events for watchers);
        // the lease's bucket row is removed right after, in the same backend batch
        this.lessor.revoke(r.id, (keys) =>
          this.store.write(index, (txn) => {
            for (const k of keys) txn.deleteRange(k, NO_RANGE_END);
          }),
        );
        return { revision: this.store.currentRevision() };
      }
    }
  }
}
