/**
 * What this member knows of raft as of the last Ready: the leader, the term, the commit index and
 * the voter configuration. The raft loop's reactions (raft-events.ts) write it; everything that
 * must answer "who leads?" reads it. Waiting for a leader change is event-driven (no polling).
 */
import { NONE, type ConfState } from "../raft/types.js";

export class RaftStatus {
  lead: bigint = NONE;
  /** When this member last became leader (etcd's leadElectedTime, for parseProposeCtxErr), clock ms. */
  leadElectedAt = 0;
  term = 0;
  commitIndex = 0;
  confState: ConfState;
  /** The server is stopping or stopped. */
  stopped = false;
  private readonly leaderWatchers = new Set<() => void>();

  constructor(
    readonly memberId: bigint,
    confState: ConfState,
  ) {
    this.confState = confState;
  }

  isLeader(): boolean {
    return this.lead === this.memberId;
  }

  /** The loop saw a (possibly new) leader. */
  setLeader(lead: bigint, now: number): void {
    if (lead === this.memberId && this.lead !== this.memberId) this.leadElectedAt = now;
    const changed = lead !== this.lead;
    this.lead = lead;
    if (changed) for (const w of [...this.leaderWatchers]) w();
  }

  /**
   * Resolves once `target` leads; rejects with `onEnd()`'s error when `signal` aborts first (the
   * caller's context, bounded by its timeout).
   */
  waitForLeader(target: bigint, signal: AbortSignal, onEnd: () => Error): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.lead === target) done(resolve);
        else if (signal.aborted || this.stopped) done(() => reject(onEnd()));
      };
      const done = (f: () => void) => {
        this.leaderWatchers.delete(check);
        signal.removeEventListener("abort", check);
        f();
      };
      this.leaderWatchers.add(check);
      signal.addEventListener("abort", check);
      check();
    });
  }
}
