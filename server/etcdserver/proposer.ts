/**
 * Proposals: a request becomes a raft entry tagged with a request id, and its caller waits until
 * this member applies that entry (the applier resolves the id's wait) or the request times out.
 */
import { encodeMember, type Member } from "../membership/cluster.js";
import type { ServerMetrics } from "../metrics/metrics.js";
import { ErrNoLeader, ErrRequestTooLarge, ErrStopped, ErrTimeout, EtcdError } from "../pb/errors.js";
import { NONE, type ConfChange, type ConfChangeType } from "../raft/types.js";
import type { ApplyResult, ApplyValue } from "./applier.js";
import type { IdGenerator } from "./id-generator.js";
import { encodeProposal, type ProposalKind } from "./proposal.js";
import type { WaitRegistry } from "./wait.js";

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
  readonly timeoutMs: number;
}

export class Proposer {
  private readonly leaderWaiters: Array<() => void> = [];

  constructor(private readonly d: ProposerDeps) {}

  /** Proposes an entry and waits for this member to apply it. Nothing resolves before the entry is durable. */
  async propose(kind: ProposalKind, payload: Uint8Array): Promise<ApplyValue> {
    const d = this.d;
    if (d.stopped()) throw ErrStopped;
    if (payload.length > d.maxRequestBytes) throw ErrRequestTooLarge;
    const id = d.ids.nextId();
    const deadline = Date.now() + d.timeoutMs;
    // Raft drops proposals while there is no leader; like etcd, wait for one rather than fail at once.
    while (d.leader() === NONE) {
      if (Date.now() >= deadline || d.stopped()) throw d.stopped() ? ErrStopped : ErrTimeout;
      await this.leaderElected(deadline - Date.now());
    }
    const done = d.waits.register(id);
    try {
      d.node.propose(encodeProposal({ kind, id, payload }));
    } catch (e) {
      d.waits.fail(id, e instanceof EtcdError ? e : d.leader() === NONE ? ErrNoLeader : ErrTimeout);
    }
    d.metrics.proposalsPending.inc();
    d.kick();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        d.waits.fail(id, ErrTimeout);
        reject(ErrTimeout);
      }, Math.max(0, deadline - Date.now()));
    });
    try {
      const r = await Promise.race([done, timeout]);
      if (!r.ok) throw r.err;
      return r.value;
    } catch (e) {
      d.metrics.proposalsFailed.inc();
      if (e instanceof EtcdError) throw e;
      throw ErrTimeout;
    } finally {
      clearTimeout(timer);
      d.metrics.proposalsPending.dec();
    }
  }

  /** Proposes a membership change carrying `member` (and the request id) as its context. */
  async proposeConfChange(type: ConfChangeType, nodeId: bigint, member: Member): Promise<void> {
    const d = this.d;
    if (d.stopped()) throw ErrStopped;
    const id = d.ids.nextId();
    const context = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(encodeMember(member)).toString()), requestId: id.toString() }));
    const done = d.waits.register(id);
    const cc: ConfChange = { type, nodeId, context };
    try {
      d.node.proposeConfChange(cc);
    } catch {
      d.waits.fail(id, d.leader() === NONE ? ErrNoLeader : ErrTimeout);
    }
    d.kick();
    const timer = setTimeout(() => d.waits.fail(id, ErrTimeout), d.timeoutMs);
    try {
      const r = await done;
      if (!r.ok) throw r.err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Raft knows a leader again: proposals waiting for one go ahead. */
  leaderKnown(): void {
    for (const w of this.leaderWaiters.splice(0)) w();
  }

  private leaderElected(withinMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, withinMs);
      this.leaderWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
