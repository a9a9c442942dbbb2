/**
 * The Raft state machine (etcd's `raft` struct): terms, votes, elections (with pre-vote and
 * check-quorum), log replication with flow control, ReadIndex, leader transfer and simple
 * membership changes. It never performs I/O: outgoing messages accumulate in `msgs`, state to
 * persist is read by RawNode into a Ready.
 *
 * The role-specific handlers live in leader.ts and follower.ts as functions over its RaftCore
 * interface (raft-core.ts), which is why its members are not private. Raft is internal: RawNode is the public API.
 */
import { stepCandidate, stepFollower } from "./follower.js";
import { bcastAppend, stepLeader, switchToConfig } from "./leader.js";
import { RaftLog } from "./raft-log.js";
import { PeerProgress, ProgressTracker } from "./progress.js";
import { VoteResult } from "./quorum.js";
import { ReadOnly } from "./read-only.js";
import { stepTerm } from "./step-term.js";
import { CAMPAIGN_TRANSFER, type CampaignType, type RaftCore } from "./raft-core.js";
import {
  type Config,
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  RaftError,
  type RaftLogger,
  type ReadState,
  type Snapshot,
  type SoftState,
  StateType,
} from "./types.js";
import {
  EMPTY_BYTES,
  isEmptyHardState,
  isEmptySnap,
  maxNum,
  type MutableMessage,
  newMessage,
  payloadSize,
  voteRespType,
} from "./util.js";

export { CAMPAIGN_TRANSFER } from "./raft-core.js";


const NOOP_LOGGER: RaftLogger = { info() {}, warn() {} };

export function validateConfig(c: Config): void {
  if (c.id === NONE) throw new RaftError("cannot use none as id");
  if (!(c.heartbeatTick > 0)) throw new RaftError("heartbeat tick must be greater than 0");
  if (!(c.electionTick > c.heartbeatTick)) throw new RaftError("election tick must be greater than heartbeat tick");
  if (!(c.maxInflightMsgs > 0)) throw new RaftError("max inflight messages must be greater than 0");
  if (!(c.maxSizePerMsg >= 0)) throw new RaftError("max size per msg must be >= 0");
  if (!(c.maxUncommittedEntriesSize >= 0)) throw new RaftError("max uncommitted entries size must be >= 0");
  if (typeof c.randInt !== "function") throw new RaftError("randInt is required");
}

export class Raft implements RaftCore {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  readonly raftLog: RaftLog;
  prs: ProgressTracker;
  state: StateType = StateType.Follower;
  /** This node is a learner in the current configuration. */
  isLearner = false;
  lead: NodeId = NONE;
  /** Non-zero while a leader transfer to that node is in progress. */
  leadTransferee: NodeId = NONE;
  /**
   * Leader: a conf change at an index > applied may be pending; a new one is refused until
   * it is applied. Set to the last index on election (conservative).
   */
  pendingConfIndex = 0;
  /** Leader: payload bytes of entries appended but not yet committed (estimate). */
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  /** Leader: ReadIndex requests waiting for the first commit in this term. */
  pendingReadIndexMessages: Message[] = [];

  /** Outgoing messages since the last Ready. */
  msgs: Message[] = [];
  /** ReadStates since the last Ready. */
  readStates: ReadState[] = [];

  /** Ticks since the last leader contact (follower), or since the last check (leader). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;

  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  private readonly randInt: (n: number) => number;
  readonly logger: RaftLogger;

  constructor(c: Config) {
    validateConfig(c);
    this.id = c.id;
    this.logger = c.logger ?? NOOP_LOGGER;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? Infinity, c.logger);
    this.maxMsgSize = c.maxSizePerMsg;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize === 0 ? Infinity : c.maxUncommittedEntriesSize;
    this.prs = new ProgressTracker(c.maxInflightMsgs);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.randInt = c.randInt;

    const { hardState, confState } = c.storage.initialState();
    this.prs.restore(confState, this.raftLog.lastIndex());
    this.updateIsLearner();
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
    this.logger.info("raft: new node", {
      id: String(this.id),
      voters: confState.voters.map(String),
      term: this.term,
      commit: this.raftLog.committed,
      applied: this.raftLog.applied,
      lastIndex: this.raftLog.lastIndex(),
      lastTerm: this.raftLog.lastTerm(),
    });
  }

  // ---------------------------------------------------------------- state accessors

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  hasLeader(): boolean {
    return this.lead !== NONE;
  }

  /** Can this node become leader (a voter of its configuration)? */
  promotable(): boolean {
    const pr = this.prs.progress.get(this.id);
    return pr !== undefined && !pr.isLearner;
  }

  updateIsLearner(): void {
    const pr = this.prs.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
  }

  // ---------------------------------------------------------------- sending

  /** Stamp `from` and (for non-vote messages) the current term, and queue the message. */
  send(m: MutableMessage): void {
    m.from = this.id;
    const t = m.type;
    if (t === MessageType.Vote || t === MessageType.VoteResp || t === MessageType.PreVote || t === MessageType.PreVoteResp) {
      if (m.term === 0) throw new RaftError(`term should be set when sending ${MessageType[t]}`);
    } else {
      if (m.term !== 0) throw new RaftError(`term should not be set when sending ${MessageType[t]}`);
      // Proposals and read requests are forwarded to the leader as-is (like local messages).
      if (t !== MessageType.Prop && t !== MessageType.ReadIndex) m.term = this.term;
    }
    this.msgs.push(m);
  }

  // ---------------------------------------------------------------- Ready bookkeeping

  /** The driver persisted / applied what a Ready carried (see RawNode.advance). */
  advance(appliedCursor: number, committedEntries: readonly Entry[], lastEntry: Entry | undefined, snap: Snapshot | undefined): void {
    if (appliedCursor > 0) this.raftLog.appliedTo(appliedCursor);
    this.reduceUncommittedSize(committedEntries);
    if (lastEntry !== undefined) this.raftLog.stableTo(lastEntry.index, lastEntry.term);
    if (snap !== undefined && !isEmptySnap(snap)) this.raftLog.stableSnapTo(snap.metadata.index);
  }

  // ---------------------------------------------------------------- state transitions

  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.prs.committed(), this.term);
  }

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.prs.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, old] of this.prs.progress) {
      const pr = new PeerProgress(last + 1, this.prs.maxInflight, old.isLearner);
      if (id === this.id) pr.match = last;
      this.prs.progress.set(id, pr);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    // Reads queued for a leadership we no longer hold are dropped (clients retry).
    this.pendingReadIndexMessages = [];
  }

  /** Leader: append proposals at the current term. Returns false if the size limit drops them. */
  appendEntry(proposed: readonly Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    const ents = new Array<Entry>(proposed.length);
    for (let i = 0; i < proposed.length; i++) {
      const p = proposed[i]!;
      ents[i] = { term: this.term, index: li + 1 + i, type: p.type, data: p.data };
    }
    if (!this.increaseUncommittedSize(ents)) {
      this.logger.warn("raft: appending would exceed the uncommitted size limit; dropping proposal", {
        id: String(this.id),
      });
      return false;
    }
    const last = this.raftLog.append(ents);
    this.prs.progress.get(this.id)?.maybeUpdate(last);
    this.maybeCommit();
    return true;
  }

  tick(): void {
    if (this.state === StateType.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.hup();
    }
  }

  tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage(MessageType.CheckQuorum, NONE, this.id));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage(MessageType.Beat, NONE, this.id));
    }
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = StateType.Follower;
    this.logger.info("raft: became follower", { id: String(this.id), term: this.term });
  }

  becomeCandidate(): void {
    if (this.state === StateType.Leader) throw new RaftError("invalid transition [leader -> candidate]");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateType.Candidate;
    this.logger.info("raft: became candidate", { id: String(this.id), term: this.term });
  }

  becomePreCandidate(): void {
    if (this.state === StateType.Leader) throw new RaftError("invalid transition [leader -> pre-candidate]");
    // Neither the term nor the vote change: a pre-election is only a poll.
    this.prs.resetVotes();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
    this.logger.info("raft: became pre-candidate", { id: String(this.id), term: this.term });
  }

  becomeLeader(): void {
    if (this.state === StateType.Follower) throw new RaftError("invalid transition [follower -> leader]");
    const self = this.prs.progress.get(this.id);
    if (self === undefined) throw new RaftError("invalid transition: becoming leader while not a member");
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.Leader;
    this.prs.progress.get(this.id)!.becomeReplicate();
    // Conservatively assume a conf change may be pending anywhere in the current log.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The empty entry commits everything before it once replicated (§5.4.2); it does not
    // count towards the uncommitted size quota (its payload is empty anyway).
    if (!this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES }])) {
      throw new RaftError("empty entry was dropped");
    }
    this.logger.info("raft: became leader", { id: String(this.id), term: this.term });
  }

  /**
   * MsgHup / MsgTimeoutNow: start an election unless leader, unpromotable, or a committed conf
   * change awaits application (the configuration we would campaign with may be stale).
   */
  hup(t: CampaignType = this.preVote ? "pre" : "election"): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) {
      this.logger.warn("raft: is unpromotable and can not campaign", { id: String(this.id) });
      return;
    }
    const log = this.raftLog;
    if (log.committed > log.applied) {
      const lo = maxNum(log.applied + 1, log.firstIndex());
      if (log.committed + 1 > lo) {
        const ents = log.slice(lo, log.committed + 1, Infinity);
        for (const e of ents) {
          if (e.type === EntryType.ConfChange) {
            this.logger.warn("raft: cannot campaign while a committed conf change is unapplied", {
              id: String(this.id),
              term: this.term,
            });
            return;
          }
        }
      }
    }
    this.logger.info("raft: starting a new election", { id: String(this.id), term: this.term, type: t });
    this.campaign(t);
  }

  campaign(t: CampaignType): void {
    let term: number;
    let voteMsg: MessageType;
    if (t === "pre") {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      // Pre-votes ask for the next term without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      // Single voter: we won on our own vote.
      if (t === "pre") {
        this.campaign("election");
      } else {
        this.becomeLeader();
        bcastAppend(this); // learners, if any
      }
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.prs.voterIds()) {
      if (id === this.id) continue;
      const m = newMessage(voteMsg, id);
      m.term = term;
      m.index = lastIndex;
      m.logTerm = lastTerm;
      if (t === "transfer") m.context = CAMPAIGN_TRANSFER;
      this.send(m);
    }
  }

  poll(id: NodeId, granted: boolean): VoteResult {
    this.prs.recordVote(id, granted);
    return this.prs.tallyVotes().result;
  }

  // ---------------------------------------------------------------- step

  /**
   * Process one message. Throws ErrProposalDropped for a MsgProp that can not be accepted.
   * Local message types are accepted here (RawNode filters them from outside callers).
   */
  step(m: Message): void {
    // 1. Term handling: may step down, or drop the message.
    if (!stepTerm(this, m)) return;

    // 2. Type handling.
    switch (m.type) {
      case MessageType.Hup:
        this.hup();
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVote(m);
        return;
      default:
        switch (this.state) {
          case StateType.Leader:
            stepLeader(this, m);
            return;
          case StateType.Candidate:
          case StateType.PreCandidate:
            stepCandidate(this, m);
            return;
          default:
            stepFollower(this, m);
        }
    }
  }

  /** MsgVote / MsgPreVote: grant it if this member may vote for the sender and the sender's log is up to date. */
  private handleVote(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === MessageType.PreVote && m.term > this.term);
    // Learners may vote too: a promoted learner may not know it yet (see etcd).
    if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
      // Reply with the message's term (for pre-votes it is in our future).
      const resp = newMessage(voteRespType(m.type), m.from);
      resp.term = m.term;
      this.send(resp);
      if (m.type === MessageType.Vote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      const resp = newMessage(voteRespType(m.type), m.from);
      resp.term = this.term;
      resp.reject = true;
      this.send(resp);
    }
  }

  // ---------------------------------------------------------------- membership

  applyConfChange(cc: ConfChange): ConfState {
    this.prs.applyConfChange(cc, this.raftLog.lastIndex());
    return switchToConfig(this);
  }

  // ---------------------------------------------------------------- misc

  loadState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new RaftError(
        `state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.randInt(this.electionTimeout);
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  increaseUncommittedSize(ents: readonly Entry[]): boolean {
    let s = 0;
    for (let i = 0; i < ents.length; i++) s += payloadSize(ents[i]!);
    // An empty uncommitted tail accepts any proposal, however large.
    if (this.uncommittedSize > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.uncommittedSize === 0) return;
    let s = 0;
    for (let i = 0; i < ents.length; i++) s += payloadSize(ents[i]!);
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }
}
