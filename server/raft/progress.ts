/**
 * The leader's view of each member (etcd's tracker.Progress + ProgressTracker), and the
 * membership itself (voters / learners) with simple one-at-a-time changes.
 *
 * Progress states:
 *  - probe: we do not know the follower's last matching index; send one MsgApp per heartbeat
 *    interval (probeSent pauses until a response) and back off on rejection.
 *  - replicate: the follower is known to match up to `match`; stream MsgApps optimistically
 *    (next advanced on send), bounded by the inflight window.
 *  - snapshot: a snapshot is in flight; nothing else is sent until it is reported.
 */
import { Inflights } from "./inflights.js";
import { committedIndex, voteResult, VoteResult } from "./quorum.js";
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type NodeId,
  type Progress as ProgressInfo,
  RaftError,
} from "./types.js";
import { maxNum, minNum } from "./util.js";

export type ProgressStateType = "probe" | "replicate" | "snapshot";

export class PeerProgress {
  match = 0;
  next: number;
  state: ProgressStateType = "probe";
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In probe state: a MsgApp was sent, wait for a response (or a heartbeat interval). */
  probeSent = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressStateType): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      // The snapshot may have been applied: resume after it (if it was not, the follower
      // rejects and we back off).
      const pending = this.pendingSnapshot;
      this.resetState("probe");
      this.next = maxNum(this.match + 1, pending + 1);
    } else {
      this.resetState("probe");
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
  }

  /** An ack up to n: returns true if match moved forward. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < n + 1) this.next = n + 1;
    return updated;
  }

  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * A rejection of the MsgApp at `rejected`; `matchHint` is the leader's guess of the
   * highest index the follower may match (from the follower's rejectHint/logTerm). Returns
   * false if the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      // Stale if it rejects something already matched.
      if (rejected <= this.match) return false;
      // Directly decrease next to match + 1 (the caller moves to probe).
      this.next = this.match + 1;
      return true;
    }
    // Probe: only the rejection of our latest probe (next - 1) is meaningful.
    if (this.next - 1 !== rejected) return false;
    this.next = maxNum(minNum(rejected, matchHint + 1), 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      default:
        return true;
    }
  }

  info(): ProgressInfo {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      isLearner: this.isLearner,
      recentActive: this.recentActive,
    };
  }
}

/** Membership and per-member progress, plus the votes of the current election. */
export class ProgressTracker {
  readonly voters = new Set<NodeId>();
  readonly learners = new Set<NodeId>();
  /** One entry per voter and learner. */
  readonly progress = new Map<NodeId, PeerProgress>();
  readonly votes = new Map<NodeId, boolean>();
  readonly maxInflight: number;

  constructor(maxInflight: number) {
    this.maxInflight = maxInflight;
  }

  confState(): ConfState {
    return { voters: sortIds(this.voters), learners: sortIds(this.learners) };
  }

  isSingleton(): boolean {
    // etcd: voters only (a learner never counts toward a quorum, so it must not delay a read index)
    return this.voters.size === 1;
  }

  /** Highest index replicated on a quorum of voters. */
  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  /** Did a quorum of voters recently talk to us? */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    }
    return voteResult(this.voters, votes) === VoteResult.Won;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Record a vote, unless this voter already voted in this election. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }

  /** Voter ids, sorted (deterministic message order). */
  voterIds(): NodeId[] {
    return sortIds(this.voters);
  }

  /** All member ids (voters then learners), sorted. */
  memberIds(): NodeId[] {
    return sortIds(this.progress.keys());
  }

  /**
   * Apply a simple membership change. `lastIndex` seeds the progress of an added member.
   * Returns nothing; callers read confState(). Throws if the change would leave no voter.
   */
  applyConfChange(cc: ConfChange, lastIndex: number): void {
    const id = cc.nodeId;
    if (id === 0n) return; // etcd: a zero NodeID is a no-op
    switch (cc.type) {
      case ConfChangeType.AddNode: {
        if (this.voters.has(id)) return;
        const pr = this.progress.get(id);
        if (pr !== undefined) {
          // Promote a learner.
          this.learners.delete(id);
          pr.isLearner = false;
        } else {
          this.progress.set(id, this.initProgress(lastIndex, false));
        }
        this.voters.add(id);
        break;
      }
      case ConfChangeType.AddLearnerNode: {
        if (this.learners.has(id)) return;
        if (this.voters.has(id)) {
          // Demote a voter (etcd allows it in a simple change).
          if (this.voters.size === 1) throw new RaftError("removed all voters");
          this.voters.delete(id);
          this.progress.get(id)!.isLearner = true;
        } else {
          this.progress.set(id, this.initProgress(lastIndex, true));
        }
        this.learners.add(id);
        break;
      }
      case ConfChangeType.RemoveNode: {
        if (this.voters.has(id) && this.voters.size === 1) throw new RaftError("removed all voters");
        this.voters.delete(id);
        this.learners.delete(id);
        this.progress.delete(id);
        this.votes.delete(id);
        break;
      }
      case ConfChangeType.UpdateNode:
        break;
      default:
        throw new RaftError(`unexpected conf change type ${String(cc.type)}`);
    }
  }

  /** Reset membership to a ConfState (restart / snapshot restore). */
  restore(cs: ConfState, lastIndex: number): void {
    this.voters.clear();
    this.learners.clear();
    this.progress.clear();
    this.votes.clear();
    for (const id of cs.voters) {
      this.voters.add(id);
      this.progress.set(id, this.initProgress(lastIndex, false));
    }
    for (const id of cs.learners) {
      if (this.voters.has(id)) throw new RaftError(`${id} is in voters and learners`);
      this.learners.add(id);
      this.progress.set(id, this.initProgress(lastIndex, true));
    }
  }

  private initProgress(lastIndex: number, isLearner: boolean): PeerProgress {
    // As etcd: next = max(lastIndex, 1) makes the first probe cheap to answer; the member is
    // considered recently active so check-quorum does not immediately count it as down.
    const pr = new PeerProgress(maxNum(lastIndex, 1), this.maxInflight, isLearner);
    pr.recentActive = true;
    return pr;
  }
}

export function sortIds(ids: Iterable<NodeId>): NodeId[] {
  return Array.from(ids).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
