/** Leadership transfer (etcd's MoveLeader), on request and before a graceful stop. */
import type { Logger } from "../log/logger.js";
import { idToHex } from "../membership/ids.js";
import { ErrBadLeaderTransferee, ErrNoLeader, ErrNotLeader, ErrTimeoutLeaderTransfer } from "../pb/errors.js";
import { NONE } from "../raft/types.js";
import type { RawNode } from "../raft/raw-node.js";
import type { RaftStatus } from "./raft-status.js";
import { withTimeout } from "./request-context.js";
import type { Clock } from "../util/clock.js";

export interface LeadershipDeps {
  readonly status: RaftStatus;
  readonly node: Pick<RawNode, "transferLeader" | "status">;
  /** Wake the raft loop. */
  kick(): void;
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  readonly electionTimeoutMs: number;
  /** What times the transfer out (default: a plain timer). */
  readonly clock?: Clock;
}

export class Leadership {
  constructor(private readonly d: LeadershipDeps) {}

  /** Transfers leadership to `target` and waits until it leads (etcd's MoveLeader). */
  async moveLeader(target: bigint, timeoutMs = this.d.requestTimeoutMs, signal?: AbortSignal): Promise<void> {
    const { status, node, logger } = this.d;
    if (!status.isLeader()) throw status.lead === NONE ? ErrNoLeader : ErrNotLeader;
    if (target === status.memberId) return;
    if (!status.confState.voters.includes(target)) throw ErrBadLeaderTransferee;
    logger.info({ "old-leader-member-id": idToHex(status.memberId), "new-leader-member-id": idToHex(target) }, "leadership transfer starting");
    node.transferLeader(target);
    this.d.kick();
    // etcd's MoveLeader answers this when its context ends, too
    const ctx = withTimeout(signal, timeoutMs, this.d.clock);
    try {
      await status.waitForLeader(target, ctx.signal, () => ErrTimeoutLeaderTransfer);
    } finally {
      ctx.done();
    }
  }

  /**
   * Before a graceful stop: a leader with peers hands leadership to the most up-to-date voter, so the
   * cluster does not wait an election timeout (etcd's "leadership transfer on shutdown"). The peer
   * listener must still be open: the old leader learns of the new one through it.
   */
  async transferForShutdown(): Promise<void> {
    const { status, node, logger } = this.d;
    if (status.stopped || !status.isLeader() || status.confState.voters.length <= 1) return;
    const st = node.status();
    const target = [...(st.progress ?? new Map()).entries()]
      .filter(([id, pr]) => id !== status.memberId && !pr.isLearner)
      .sort((a, b) => b[1].match - a[1].match)[0]?.[0];
    if (target === undefined) return;
    try {
      await this.moveLeader(target, this.d.electionTimeoutMs * 2);
      logger.info({ "new-leader": idToHex(target) }, "leadership transferred before shutdown");
    } catch (e) {
      logger.warn({ error: (e as Error).message }, "leadership transfer before shutdown failed");
    }
  }
}
