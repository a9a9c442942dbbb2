import { serviceDefinition } from "../api/proto/load.js";
import type { Logger } from "../log/logger.js";
import { applyChange, decodeMember, type Cluster } from "../membership/cluster.js";
import { idToHex } from "../membership/ids.js";
import { compactionFromWire, deleteRangeFromWire, putFromWire, txnFromWire } from "../pb/convert.js";
import { EtcdError, ErrLeaseNotFound } from "../pb/errors.js";
import type * as kv from "../pb/kv.js";
import type { WireCompactionRequest, WireDeleteRangeRequest, WirePutRequest, WireTxnRequest } from "../pb/wire.js";
import { ConfChangeType, EntryType, type ConfChange, type ConfState, type Entry } from "../raft/types.js";
import { decodeConfChange } from "../raft/conf-change-codec.js";
import { applyCompaction, applyDeleteRange, applyPut, applyTxn, type LeaseHooks } from "./apply/index.js";
import type { MvccStore } from "../mvcc/index.js";
import { ProposalKind, decodeProposal, fromJsonPayload, type MemberAttributes } from "./proposal.js";
import type { WaitRegistry } from "./wait.js";
import type { Lessor } from "../lease/lessor.js";

export type ApplyValue = kv.PutResponse | kv.DeleteRangeResponse | kv.TxnResponse | CompactResult | LeaseGrantResult | LeaseRevokeResult | undefined;

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
};

const kvDef = serviceDefinition("etcdserverpb", "KV");
const decodePut = (b: Uint8Array) => putFromWire(kvDef.Put!.requestDeserialize(Buffer.from(b)) as WirePutRequest);
const decodeDelete = (b: Uint8Array) => deleteRangeFromWire(kvDef.DeleteRange!.requestDeserialize(Buffer.from(b)) as WireDeleteRangeRequest);
const decodeTxn = (b: Uint8Array) => txnFromWire(kvDef.Txn!.requestDeserialize(Buffer.from(b)) as WireTxnRequest);
const decodeCompaction = (b: Uint8Array) => compactionFromWire(kvDef.Compact!.requestDeserialize(Buffer.from(b)) as WireCompactionRequest);
const leaseDef = serviceDefinition("etcdserverpb", "Lease");
const decodeLeaseGrant = (b: Uint8Array) => leaseDef.LeaseGrant!.requestDeserialize(Buffer.from(b)) as { ID: string; TTL: string };
const decodeLeaseRevoke = (b: Uint8Array) => leaseDef.LeaseRevoke!.requestDeserialize(Buffer.from(b)) as { ID: string };
const NO_RANGE_END = Buffer.alloc(0);

function requestIdOf(context: Uint8Array): bigint | undefined {
  if (context.length === 0) return undefined;
  try {
    const o = JSON.parse(Buffer.from(context).toString("utf8")) as { requestId?: string };
    return o.requestId ? BigInt(o.requestId) : undefined;
  } catch {
    return undefined;
  }
}

export interface ApplierHooks {
  applyConfChange(cc: ConfChange): ConfState;
  /** The leader's no-op of `term` was applied: reads and publishing may start. */
  onNoopApplied(term: number): void;
  onClusterChanged(c: Cluster): void;
  onClusterVersion(version: string): void;
}

/**
 * Applies committed entries in log order. KV entries at or below the store's consistent index were
 * applied before a restart and are skipped (their effects are already in the backend); membership
 * entries are re-applied from the snapshot's membership, which makes them idempotent.
 */
export class Applier {
  appliedIndex: number;
  appliedTerm = 0;
  private cluster: Cluster;

  constructor(
    private readonly store: MvccStore,
    cluster: Cluster,
    appliedIndex: number,
    private readonly waits: WaitRegistry<ApplyResult>,
    private readonly hooks: ApplierHooks,
    private readonly logger: Logger,
    private readonly leases: LeaseHooks = NO_LEASES,
    /** Applies LeaseGrant/LeaseRevoke entries (without it they fail with ErrLeaseNotFound). */
    private readonly lessor?: Lessor,
  ) {
    this.cluster = cluster;
    this.appliedIndex = appliedIndex;
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
      if (e.type === EntryType.ConfChange) this.applyConfChange(e);
      else this.applyNormal(e);
      this.appliedIndex = e.index;
      this.appliedTerm = e.term;
    }
  }

  private applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    this.hooks.applyConfChange(cc);
    let next = this.cluster;
    switch (cc.type) {
      case ConfChangeType.AddNode:
      case ConfChangeType.AddLearnerNode: {
        const m = cc.context.length > 0 ? decodeMember(cc.context) : undefined;
        const existing = next.members.get(cc.nodeId);
        if (existing && cc.type === ConfChangeType.AddNode && existing.isLearner) next = applyChange(next, { kind: "promote", id: cc.nodeId });
        else if (m) next = applyChange(next, { kind: "add", member: { ...m, isLearner: cc.type === ConfChangeType.AddLearnerNode } });
        break;
      }
      case ConfChangeType.RemoveNode:
        next = applyChange(next, { kind: "remove", id: cc.nodeId });
        break;
      case ConfChangeType.UpdateNode: {
        const m = decodeMember(cc.context);
        next = applyChange(next, { kind: "update", id: cc.nodeId, peerUrls: m.peerUrls });
        break;
      }
    }
    if (next !== this.cluster) {
      this.cluster = next;
      this.logger.info({ "cluster-id": idToHex(next.clusterId), "member-id": idToHex(cc.nodeId), change: ConfChangeType[cc.type] }, "applied a membership change");
      this.hooks.onClusterChanged(next);
    }
    // Conf changes proposed by this member carry their request id in the context.
    const requestId = requestIdOf(cc.context);
    if (requestId !== undefined) this.waits.trigger(requestId, { ok: true, value: undefined });
  }

  private applyNormal(e: Entry): void {
    const p = decodeProposal(e.data);
    if (!p) {
      this.hooks.onNoopApplied(e.term);
      return;
    }
    let result: ApplyResult;
    try {
      result = { ok: true, value: this.applyProposal(p.kind, p.payload, e.index) };
    } catch (err) {
      if (!(err instanceof EtcdError)) throw err;
      result = { ok: false, err };
      // A rejected request still consumed its entry: record the index so a restart does not retry it.
      if (e.index > this.store.consistentIndex()) this.store.setConsistentIndex(e.index, e.term);
    }
    this.waits.trigger(p.id, result);
  }

  private applyProposal(kind: ProposalKind, payload: Uint8Array, index: number): ApplyValue {
    const replay = index <= this.store.consistentIndex();
    switch (kind) {
      case ProposalKind.Put: {
        if (replay) return undefined;
        const req = decodePut(payload);
        return this.store.write(index, (txn) => applyPut(txn, req, this.leases));
      }
      case ProposalKind.DeleteRange: {
        if (replay) return undefined;
        const req = decodeDelete(payload);
        return this.store.write(index, (txn) => applyDeleteRange(txn, req));
      }
      case ProposalKind.Txn:
        if (replay) return undefined;
        return applyTxn(this.store, index, decodeTxn(payload), this.leases);
      case ProposalKind.Compaction: {
        if (replay) return undefined;
        const req = decodeCompaction(payload);
        const { done } = applyCompaction(this.store, index, req);
        return { revision: this.store.currentRevision(), done };
      }
      case ProposalKind.MemberAttributes: {
        const a = fromJsonPayload<MemberAttributes>(payload);
        const next = applyChange(this.cluster, { kind: "attributes", id: BigInt(a.memberId), name: a.name, clientUrls: a.clientUrls });
        this.cluster = next;
        this.hooks.onClusterChanged(next);
        return undefined;
      }
      case ProposalKind.ClusterVersion:
        this.hooks.onClusterVersion(fromJsonPayload<{ version: string }>(payload).version);
        return undefined;
      case ProposalKind.LeaseGrant: {
        if (replay) return undefined; // the lease bucket already holds it (same backend batch as the index)
        const req = decodeLeaseGrant(payload);
        if (!this.lessor) throw ErrLeaseNotFound;
        const l = this.lessor.grant(BigInt(req.ID), Number(req.TTL));
        this.store.setConsistentIndex(index);
        return { id: l.id, ttl: l.ttl, revision: this.store.currentRevision() };
      }
      case ProposalKind.LeaseRevoke: {
        if (replay) return undefined;
        const req = decodeLeaseRevoke(payload);
        if (!this.lessor) throw ErrLeaseNotFound;
        // the attached keys go in ONE write transaction (one revision, delete events for watchers);
        // the lease's bucket row is removed right after, in the same backend batch
        this.lessor.revoke(BigInt(req.ID), (keys) =>
          this.store.write(index, (txn) => {
            for (const k of keys) txn.deleteRange(k, NO_RANGE_END);
          }),
        );
        return { revision: this.store.currentRevision() };
      }
      default:
        this.logger.warn({ kind, index }, "skipping an entry of unknown kind");
        return undefined;
    }
  }
}
