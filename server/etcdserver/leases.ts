/**
 * The server side of the Lease API (etcd's EtcdServer.Lease* in v3_server.go plus the expired-lease
 * revoking of server.go), kept apart from server.ts: grant and revoke go through raft; keep-alive
 * and time-to-live are answered by the leader's lessor (a follower's API layer forwards them, see
 * api/grpc/lease-service.ts); the leader revokes expired leases by proposing LeaseRevoke.
 */
import { LEASE_OVERHEAD } from "./quota-cost.js";
import { randomBytes } from "node:crypto";
import type { Logger } from "../log/logger.js";
import { SYSTEM_CLOCK, type Clock } from "../util/clock.js";
import { Lessor, type Lease, type LeaseCheckpoint } from "../lease/lessor.js";
import { NotPrimaryError } from "../lease/errors.js";
import { ErrStopped, ErrTimeoutWaitAppliedIndex } from "../pb/errors.js";
import { payloads, type AuthStamp } from "../pb/raft-entry.js";
import type { ApplyValue, LeaseGrantResult, LeaseRevokeResult } from "./applier.js";
import { ProposalKind } from "../pb/raft-entry.js";

export interface LeaseServerDeps {
  readonly lessor: Lessor;
  propose(kind: ProposalKind, payload: Uint8Array, signal?: AbortSignal, stamp?: AuthStamp): Promise<ApplyValue>;
  isLeader(): boolean;
  /** Raft's commit index and this member's applied index. */
  commitIndex(): number;
  appliedIndex(): number;
  /** Resolves once this member has applied `index` (AppliedWaiter); rejects when `signal` aborts. */
  waitApplied(index: number, signal: AbortSignal): Promise<void>;
  /** Refuses (ErrNoSpace, NOSPACE raised) a request of this cost over the space quota (quota-cost.ts). */
  checkQuota(cost: number): void;
  readonly logger: Logger;
  readonly electionTimeoutMs: number;
  /** What runs the expiry loop and measures the wait for the applied index (default: the system clock). */
  readonly clock?: Clock;
}

export interface TimeToLive {
  readonly id: bigint;
  /** Remaining seconds (truncated), as etcd. */
  readonly ttl: number;
  readonly grantedTtl: number;
  readonly keys: Buffer[];
}

/** etcd's lessor loop period and revoke rate (leaseRevokeRate 1000/s: leaseRevokeRate / 2 per loop). */
const EXPIRY_LOOP_MS = 500;
const REVOKES_PER_LOOP = 500;
/** etcd's maxPendingRevokes: LeaseRevoke proposals in flight at once. */
const MAX_PENDING_REVOKES = 16;
/** etcd's maxLeaseCheckpointBatchSize, and its leaseCheckpointRate / 2 batches per loop. */
const CHECKPOINT_BATCH = 1000;
const CHECKPOINT_BATCHES_PER_LOOP = 500;
/** etcd's applyTimeout for waitAppliedIndex. */
const APPLY_WAIT_MS = 1000;

const MASK63 = (1n << 63n) - 1n;

export class ServerLeases {
  readonly lessor: Lessor;
  private stopTimer: (() => void) | undefined;
  /** Expired leases found by the loop, waiting for a revoke slot (at most REVOKES_PER_LOOP). */
  private revokeQueue: bigint[] = [];
  /** Leases queued or being revoked: a lease reported again (etcd's retry interval) is not revoked twice at once. */
  private readonly revoking = new Set<bigint>();
  private pendingRevokes = 0;
  private stopped = false;
  /** Waits for the applied index under way: stop() ends them with ErrStopped. */
  private readonly applyWaits = new Set<AbortController>();

  constructor(private readonly d: LeaseServerDeps) {
    this.lessor = d.lessor;
  }

  /** LeaseGrant through raft; ID 0: the server picks a random positive int63 not in use. */
  async grant(ttl: number, id: bigint, signal?: AbortSignal): Promise<LeaseGrantResult> {
    this.d.checkQuota(LEASE_OVERHEAD);
    // etcd 3.4 takes its request-ID generator's next value; any unused positive int63 will do
    while (id === 0n) {
      id = randomBytes(8).readBigUInt64BE() & MASK63;
      if (this.lessor.lookup(id)) id = 0n;
    }
    const payload = payloads.leaseGrant.encode({ TTL: String(ttl), ID: id.toString() });
    return (await this.d.propose(ProposalKind.LeaseGrant, payload, signal)) as LeaseGrantResult;
  }

  /** LeaseRevoke through raft: ErrLeaseNotFound if it does not exist when applied. */
  async revoke(id: bigint, signal?: AbortSignal, stamp?: AuthStamp): Promise<LeaseRevokeResult> {
    const payload = payloads.leaseRevoke.encode({ ID: id.toString() });
    return (await this.d.propose(ProposalKind.LeaseRevoke, payload, signal, stamp)) as LeaseRevokeResult;
  }

  /**
   * Keep-alive on the leader: the granted TTL; ErrLeaseNotFound; NotPrimaryError on a follower (forward it).
   * A lease with a checkpointed remaining TTL has it cleared through raft first (etcd's Renew), so a later
   * leader starts it from its full TTL again.
   */
  async renew(id: bigint): Promise<number> {
    if (!this.d.isLeader()) throw new NotPrimaryError();
    await this.waitApplied();
    if (this.lessor.needsCheckpointClear(id)) await this.proposeCheckpoints([{ id, remainingTtl: 0 }]).catch(() => undefined);
    return this.lessor.renew(id);
  }

  /** TimeToLive on the leader; undefined if there is no such lease; NotPrimaryError on a follower. */
  async timeToLive(id: bigint, withKeys: boolean): Promise<TimeToLive | undefined> {
    if (!this.d.isLeader() || !this.lessor.isPrimary()) throw new NotPrimaryError();
    await this.waitApplied();
    const l = this.lessor.lookup(id);
    if (!l) return undefined;
    return { id, ttl: this.lessor.remainingSeconds(l), grantedTtl: l.ttl, keys: withKeys ? l.keys() : [] };
  }

  /** Every lease this member knows (etcd answers LeaseLeases locally). */
  list(): Lease[] {
    return this.lessor.leases();
  }

  /** The leader's no-op of its term was applied: it becomes the primary lessor. */
  onLeaderReady(): void {
    this.lessor.promote(this.d.electionTimeoutMs);
  }

  /** This member is no longer the leader: the new leader's lessor decides expiry from now on. */
  onNotLeader(): void {
    if (this.lessor.isPrimary()) this.lessor.demote();
    this.dropQueue();
  }

  start(): void {
    this.stopTimer = (this.d.clock ?? SYSTEM_CLOCK).every(EXPIRY_LOOP_MS, () => {
      this.revokeExpired();
      this.checkpointDue();
    });
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.applyWaits) w.abort(ErrStopped);
    this.stopTimer?.();
    this.dropQueue();
    this.lessor.stop();
  }

  /**
   * The expiry loop (etcd's lessor runLoop + EtcdServer.revokeExpiredLeases): every 500 ms the leader
   * takes up to 500 expired leases (1000 per second, etcd's leaseRevokeRate) and revokes them, each by
   * its own LeaseRevoke proposal through raft (one revision per lease on every member, as etcd), with
   * at most 16 in flight. The queue never holds more than one loop's worth: a loop that finds the
   * previous batch still queued only tops it up.
   */
  private revokeExpired(): void {
    if (this.stopped || !this.d.isLeader() || !this.lessor.isPrimary()) return;
    const room = REVOKES_PER_LOOP - this.revokeQueue.length;
    if (room <= 0) return;
    for (const l of this.lessor.findExpired(room)) {
      if (this.revoking.has(l.id)) continue; // reported again while its revoke is still on its way
      this.revoking.add(l.id);
      this.revokeQueue.push(l.id);
    }
    this.pumpRevokes();
  }

  /**
   * etcd's checkpointScheduledLeases (--experimental-enable-lease-checkpoint): each loop the leader proposes
   * the due checkpoints in LeaseCheckpoint entries of up to 1000 (at most 500 entries per loop), without
   * waiting for them.
   */
  private checkpointDue(): void {
    for (let batch = 0; batch < CHECKPOINT_BATCHES_PER_LOOP; batch++) {
      if (this.stopped || !this.d.isLeader() || !this.lessor.isPrimary()) return;
      const due = this.lessor.checkpointsDue(CHECKPOINT_BATCH);
      if (due.length === 0) return;
      this.proposeCheckpoints(due).catch((e: unknown) => {
        if (e !== ErrStopped) this.d.logger.warn({ count: due.length, error: (e as Error).message }, "failed to checkpoint leases");
      });
      if (due.length < CHECKPOINT_BATCH) return;
    }
  }

  private async proposeCheckpoints(cps: readonly LeaseCheckpoint[]): Promise<void> {
    const payload = payloads.leaseCheckpoint.encode({ checkpoints: cps.map((c) => ({ ID: c.id.toString(), remaining_TTL: String(c.remainingTtl) })) });
    await this.d.propose(ProposalKind.LeaseCheckpoint, payload);
  }

  /** Starts queued revokes while fewer than MAX_PENDING_REVOKES are in flight. */
  private pumpRevokes(): void {
    while (this.pendingRevokes < MAX_PENDING_REVOKES && this.revokeQueue.length > 0) {
      if (this.stopped || !this.d.isLeader()) return this.dropQueue();
      const id = this.revokeQueue.shift()!;
      this.pendingRevokes++;
      this.revoke(id)
        .catch((e: unknown) => {
          if (e !== ErrStopped) this.d.logger.warn({ "lease-id": id.toString(16).padStart(16, "0"), error: (e as Error).message }, "failed to revoke lease");
        })
        .finally(() => {
          this.pendingRevokes--;
          this.revoking.delete(id);
          this.pumpRevokes();
        });
    }
  }

  /** Forgets the leases not yet proposed (leadership lost, or stopping); those in flight finish. */
  private dropQueue(): void {
    for (const id of this.revokeQueue) this.revoking.delete(id);
    this.revokeQueue = [];
  }

  /**
   * etcd's waitAppliedIndex: the leader answers lease reads only once it applied what is committed;
   * not within a second (on the member's clock): ErrTimeoutWaitAppliedIndex; stopping: ErrStopped.
   */
  private waitApplied(): Promise<void> {
    if (this.stopped) return Promise.reject(ErrStopped);
    const target = this.d.commitIndex();
    // the common case (every keep-alive): nothing to wait for, so no controller and no timer
    if (this.d.appliedIndex() >= target) return Promise.resolve();
    const wait = new AbortController();
    this.applyWaits.add(wait);
    const cancelTimer = (this.d.clock ?? SYSTEM_CLOCK).after(APPLY_WAIT_MS, () => wait.abort(ErrTimeoutWaitAppliedIndex));
    return this.d.waitApplied(target, wait.signal).finally(() => {
      cancelTimer();
      this.applyWaits.delete(wait);
    });
  }
}
