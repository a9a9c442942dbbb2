/**
 * RawNode: the public, synchronous API of the Raft core (etcd's RawNode). The driver feeds it
 * ticks, proposals and peer messages, and drains Ready batches (persist, send, apply, advance).
 */
import { encodeConfChange } from "./conf-change-codec.js";
import { Raft } from "./raft.js";
import {
  type Config,
  type ConfChange,
  ConfChangeType,
  type ConfState,
  EMPTY_HARD_STATE,
  type Entry,
  EntryType,
  ErrProposalDropped,
  ErrStepLocalMsg,
  type HardState,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  type Progress,
  RaftError,
  type Ready,
  type SoftState,
  StateType,
  type Status,
} from "./types.js";
import { hardStateEqual, isEmptyHardState, isLocalMsg, isResponseMsg, newMessage } from "./util.js";

export class RawNode {
  /** @internal The state machine (exposed for tests and debugging; not part of the API). */
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** A Ready was handed out and not yet advanced. */
  private outstanding: Ready | undefined = undefined;

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /**
   * Bootstrap a new cluster: one committed ConfChangeAddNode entry per peer at term 1
   * (indexes 1..n), applied to the configuration right away. The first Ready carries them as
   * entries and committedEntries with hardState {term: 1, vote: 0, commit: n}; the driver
   * persists them and applies the conf changes (applyConfChange is idempotent for them).
   * Only valid on empty storage.
   */
  bootstrap(peers: readonly { id: NodeId; context: Uint8Array }[]): void {
    if (peers.length === 0) throw new RaftError("must provide at least one peer to bootstrap");
    const log = this.raft.raftLog;
    if (log.storage.lastIndex() !== 0 || log.lastIndex() !== 0) {
      throw new RaftError("can't bootstrap a nonempty Storage");
    }
    // The first Ready must carry the hard state even though it equals the restart state.
    this.prevHardState = EMPTY_HARD_STATE;
    this.raft.becomeFollower(1, NONE);
    const ents: Entry[] = peers.map((p, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: p.id, context: p.context }),
    }));
    log.append(ents);
    log.committed = ents.length;
    for (const p of peers) {
      this.raft.applyConfChange({ type: ConfChangeType.AddNode, nodeId: p.id, context: p.context });
    }
  }

  /** Advance the logical clock by one tick (election / heartbeat timeouts are in ticks). */
  tick(): void {
    this.raft.tick();
  }

  /** Start an election now (a pre-vote round first if config.preVote). No-op on a leader. */
  campaign(): void {
    this.raft.step(newMessage(MessageType.Hup, NONE, this.raft.id));
  }

  /** Propose data for the log. Throws ErrProposalDropped (no leader, transfer, size limit). */
  propose(data: Uint8Array): void {
    const m = newMessage(MessageType.Prop, NONE, this.raft.id);
    m.entries = [{ term: 0, index: 0, type: EntryType.Normal, data }];
    this.raft.step(m);
  }

  /**
   * Propose a membership change. Only one may be pending at a time: while one is appended
   * but not applied, a further one is replaced by an empty Normal entry (it never takes
   * effect; the driver sees a Normal entry with empty data).
   */
  proposeConfChange(cc: ConfChange): void {
    const m = newMessage(MessageType.Prop, NONE, this.raft.id);
    m.entries = [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }];
    this.raft.step(m);
  }

  /** Apply a committed ConfChange entry (in log order); returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Feed a message from a peer. Throws ErrStepLocalMsg for local message types. Responses
   * from peers not in the configuration are ignored, as are dropped forwarded proposals.
   */
  step(m: Message): void {
    if (isLocalMsg(m.type)) throw ErrStepLocalMsg;
    if (isResponseMsg(m.type) && !this.raft.prs.progress.has(m.from)) return;
    try {
      this.raft.step(m);
    } catch (err) {
      if (err === ErrProposalDropped) return; // a forwarded proposal; the proposer times out
      throw err;
    }
  }

  /**
   * Request a linearizable read point; `ctx` identifies the request (unique per request). The
   * ReadState {index, requestCtx: ctx} appears in a later Ready; it may never appear (no
   * leader, leadership lost): retry on a timeout.
   */
  readIndex(ctx: Uint8Array): void {
    const m = newMessage(MessageType.ReadIndex, NONE, NONE);
    m.context = ctx;
    this.raft.step(m);
  }

  /** Ask the leader to hand leadership to `to` (forwarded by followers). */
  transferLeader(to: NodeId): void {
    this.raft.step(newMessage(MessageType.TransferLeader, NONE, to));
  }

  /** The transport failed to deliver to `id`: stop optimistic replication to it. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage(MessageType.Unreachable, NONE, id));
  }

  /** Outcome of sending a snapshot to `id` (call after the snapshot message was sent or failed). */
  reportSnapshot(id: NodeId, ok: boolean): void {
    const m = newMessage(MessageType.SnapStatus, NONE, id);
    m.reject = !ok;
    this.raft.step(m);
  }

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    // Allocation free: this is polled on every driver iteration.
    const r = this.raft;
    const log = r.raftLog;
    if (r.lead !== this.prevSoftState.lead || r.state !== this.prevSoftState.raftState) return true;
    const phs = this.prevHardState;
    if (r.term !== phs.term || r.vote !== phs.vote || log.committed !== phs.commit) {
      if (r.term !== 0 || r.vote !== NONE || log.committed !== 0) return true;
    }
    if (log.unstable.snapshot !== undefined) return true;
    if (r.msgs.length > 0 || log.unstable.entries.length > 0 || log.hasNextEnts()) return true;
    return r.readStates.length > 0;
  }

  /**
   * The next batch of work. Exactly one Ready may be outstanding: call advance(rd) before the
   * next ready() (hasReady() returns false meanwhile).
   */
  ready(): Ready {
    if (this.outstanding !== undefined) throw new RaftError("ready() called before advance() of the previous Ready");
    const r = this.raft;
    const log = r.raftLog;
    const entries = log.unstableEntries();
    const committedEntries = log.nextEnts();
    const messages = r.msgs;
    r.msgs = [];
    const readStates = r.readStates;
    if (readStates.length > 0) r.readStates = [];

    let softState: SoftState | undefined;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState) {
      softState = ss;
      this.prevSoftState = ss;
    }
    let hardState: HardState | undefined;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHardState)) hardState = hs;
    const mustSync =
      entries.length !== 0 || hs.vote !== this.prevHardState.vote || hs.term !== this.prevHardState.term;

    const rd: Ready = {
      softState,
      hardState,
      readStates,
      entries,
      snapshot: log.unstable.snapshot,
      committedEntries,
      messages,
      mustSync,
    };
    this.outstanding = rd;
    return rd;
  }

  /** The driver persisted, sent and applied `rd` (in that order). */
  advance(rd: Ready): void {
    if (this.outstanding !== rd) throw new RaftError("advance() with a Ready that is not the outstanding one");
    this.outstanding = undefined;
    if (rd.hardState !== undefined) this.prevHardState = rd.hardState;
    const n = rd.committedEntries.length;
    let appliedCursor = 0;
    if (n > 0) appliedCursor = rd.committedEntries[n - 1]!.index;
    else if (rd.snapshot !== undefined && rd.snapshot.metadata.index > 0) appliedCursor = rd.snapshot.metadata.index;
    const ents = rd.entries;
    this.raft.advance(appliedCursor, rd.committedEntries, ents.length > 0 ? ents[ents.length - 1] : undefined, rd.snapshot);
  }

  /** The hard state alone: what a driver reads after every Ready, without status()'s copy of each peer's progress. */
  hardState(): HardState {
    return this.raft.hardState();
  }

  status(): Status {
    const r = this.raft;
    let progress: Map<NodeId, Progress> | undefined;
    if (r.state === StateType.Leader) {
      progress = new Map();
      for (const [id, pr] of r.prs.progress) progress.set(id, pr.info());
    }
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      leadTransferee: r.leadTransferee,
      progress,
    };
  }
}
