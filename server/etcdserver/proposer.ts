/**
 * Proposals: a request becomes a raft entry tagged with a request id, and its caller waits until
 * this member applies that entry (the applier resolves the id's wait) or the request times out.
 */
import { encodeMember, type Member } from "../membership/cluster.js";
import type { ServerMetrics } from "../metrics/metrics.js";
import { ErrNoLeader, ErrRequestTooLarge, ErrStopped, ErrTimeout, EtcdError, isRequestError } from "../pb/errors.js";
import { parseProposeCtxErr, type LeadershipView } from "./propose-errors.js";
import { Deadline, type ContextSignal } from "./request-context.js";
import { NONE, type ConfChange, type ConfChangeType } from "../raft/types.js";
import type { ApplyResult, ApplyValue } from "./applier.js";
import type { IdGenerator } from "./id-generator.js";
import { encodeProposal, type AuthStamp, type ProposalKind } from "../pb/raft-entry.js";
import type { WaitRegistry } from "./wait.js";
import type { Clock } from "../util/clock.js";
import { trace, TRACING } from "../util/latency-trace.js";

export interface ProposerDeps {
  readonly node: { propose(data: Uint8Array): void; proposeConfChange(cc: ConfChange): void };
  readonly waits: WaitRegistry<ApplyResult>;
  readonly ids: IdGenerator;
  /** Wake the raft loop so the proposal goes out this turn. */
  kick(): void;
  /** The current leader (NONE when there is none). */
  leader(): bigint;
  stopped(): boolean;
  readonly metrics: Pick<ServerMetrics, "proposalsPending" | "proposalsFailed">;
  readonly maxRequestBytes: number;
  /** etcd's ReqTimeout (5 s + 2 election timeouts): no proposal waits longer, whatever its caller's deadline. */
  readonly timeoutMs: number;
  /** Leadership and peer connectivity, to tell why a proposal timed out (etcd's parseProposeCtxErr). */
  readonly leadership: LeadershipView;
  /**
   * What times proposals out and stamps when they started (the same clock as leadElectedAt and
   * activeSince, which the start is compared with). Default: Date.now and plain timers.
   */
  readonly clock?: Clock;
}

/**
 * A proposal waits as long as its context (the caller's, bounded by the request timeout) lives:
 * first for a leader (raft drops proposals while there is none; etcd's Propose blocks), then for the
 * entry to be applied here. When the context ends it answers what etcd answers: the context's own
 * error while no leader took the proposal, parseProposeCtxErr's once raft has it.
 */
export class Proposer {
  private readonly leaderWaiters = new Set<() => void>();

  constructor(private readonly d: ProposerDeps) {}

  private now(): number {
    return this.d.clock ? this.d.clock.now() : Date.now();
  }

  /** Proposes an entry and waits for this member to apply it. Nothing resolves before the entry is durable. */
  async propose(kind: ProposalKind, payload: Uint8Array, signal?: ContextSignal, stamp?: AuthStamp): Promise<ApplyValue> {
    const d = this.d;
    if (d.stopped()) throw ErrStopped;
    if (payload.length > d.maxRequestBytes) throw ErrRequestTooLarge;
    const ctx = new Deadline(signal, d.timeoutMs, d.clock);
    const start = this.now();
    try {
      if (ctx.reason || d.leader() === NONE) await this.waitForLeader(ctx);
      const id = d.ids.nextId();
      const done = d.waits.register(id);
      try {
        d.node.propose(encodeProposal(stamp ? { kind, id, payload, stamp } : { kind, id, payload }));
      } catch (e) {
        d.waits.fail(id, e instanceof EtcdError ? e : d.leader() === NONE ? ErrNoLeader : ErrTimeout);
      }
      d.metrics.proposalsPending.inc();
      if (TRACING) trace("propose", id);
      d.kick();
      const stopWaiting = ctx.onEnd((reason) => d.waits.fail(id, parseProposeCtxErr(reason, start, d.leadership)));
      try {
        const r = await done;
        if (TRACING) trace("resolved", id);
        if (!r.ok) throw r.err;
        return r.value;
      } catch (e) {
        d.metrics.proposalsFailed.inc();
        throw isRequestError(e) ? e : ErrTimeout;
      } finally {
        stopWaiting();
        d.metrics.proposalsPending.dec();
      }
    } finally {
      ctx.done();
    }
  }

  /** Proposes a membership change carrying `member` (and the request id) as its context. */
  async proposeConfChange(type: ConfChangeType, nodeId: bigint, member: Member, signal?: AbortSignal): Promise<void> {
    const d = this.d;
    if (d.stopped()) throw ErrStopped;
    const id = d.ids.nextId();
    const context = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(encodeMember(member)).toString()), requestId: id.toString() }));
    const done = d.waits.register(id);
    const cc: ConfChange = { type, nodeId, context };
    const start = this.now();
    try {
      d.node.proposeConfChange(cc);
    } catch {
      d.waits.fail(id, d.leader() === NONE ? ErrNoLeader : ErrTimeout);
    }
    d.kick();
    const ctx = new Deadline(signal, d.timeoutMs, d.clock);
    const stopWaiting = ctx.onEnd((reason) => d.waits.fail(id, parseProposeCtxErr(reason, start, d.leadership)));
    try {
      const r = await done;
      if (!r.ok) throw r.err;
    } finally {
      stopWaiting();
      ctx.done();
    }
  }

  /** Raft knows a leader again (or the server stops): proposals waiting for one go ahead (or fail). */
  leaderKnown(): void {
    for (const w of [...this.leaderWaiters]) w();
  }

  /** Resolves once raft knows a leader; rejects with the context's error (etcd: Propose returns ctx.Err()). */
  private async waitForLeader(ctx: Deadline): Promise<void> {
    if (ctx.reason) throw ctx.reason;
    while (this.d.leader() === NONE) {
      if (this.d.stopped()) throw ErrStopped;
      if (ctx.reason) throw ctx.reason;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.leaderWaiters.delete(wake);
          dispose();
          resolve();
        };
        const dispose = ctx.onEnd(wake);
        this.leaderWaiters.add(wake);
      });
    }
  }
}
