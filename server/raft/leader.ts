/**
 * The leader's side of the protocol (etcd's stepLeader and friends), as functions over the
 * Raft state: replication (MsgApp / MsgSnap / heartbeats, flow control, fast back-off),
 * commit, proposals, ReadIndex, leader transfer, and reacting to membership changes.
 */
import type { PeerProgress } from "./progress.js";
import { VoteResult, voteResult } from "./quorum.js";
import type { RaftCore as Raft } from "./raft-core.js";
import {
  type ConfState,
  type Entry,
  EntryType,
  ErrCompacted,
  ErrProposalDropped,
  ErrSnapshotTemporarilyUnavailable,
  ErrUnavailable,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  RaftError,
  type Snapshot,
  StateType,
} from "./types.js";
import { EMPTY_BYTES, isEmptySnap, minNum, newMessage } from "./util.js";

export function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

/**
 * Send a MsgApp (or a MsgSnap when the needed entries are compacted) to `to` if its
 * progress allows. With sendIfEmpty=false, nothing is sent when there are no new entries.
 * Returns true if a message was sent.
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.prs.progress.get(to);
  if (pr === undefined || pr.isPaused()) return false;
  const log = r.raftLog;
  let term = 0;
  let ents: Entry[] = [];
  let unavailable = false;
  try {
    term = log.term(pr.next - 1);
    ents = log.entries(pr.next, r.maxMsgSize);
  } catch (err) {
    if (err !== ErrCompacted && err !== ErrUnavailable) throw err;
    unavailable = true;
  }
  if (ents.length === 0 && !sendIfEmpty) return false;

  if (unavailable) {
    if (!pr.recentActive) return false;
    let snap: Snapshot;
    try {
      snap = log.snapshot();
    } catch (err) {
      if (err === ErrSnapshotTemporarilyUnavailable) return false;
      throw err;
    }
    if (isEmptySnap(snap)) throw new RaftError("need non-empty snapshot");
    const m = newMessage(MessageType.Snap, to);
    m.snapshot = snap;
    pr.becomeSnapshot(snap.metadata.index);
    r.logger.info("raft: sent snapshot", {
      id: String(r.id),
      to: String(to),
      index: snap.metadata.index,
      term: snap.metadata.term,
    });
    r.send(m);
    return true;
  }

  const m = newMessage(MessageType.App, to);
  m.index = pr.next - 1;
  m.logTerm = term;
  m.entries = ents;
  m.commit = log.committed;
  const n = ents.length;
  if (n !== 0) {
    if (pr.state === "replicate") {
      const last = ents[n - 1]!.index;
      pr.optimisticUpdate(last);
      pr.inflights.add(last);
    } else if (pr.state === "probe") {
      pr.probeSent = true;
    } else {
      throw new RaftError(`sending append in unhandled state ${pr.state}`);
    }
  } else if (pr.state === "replicate") {
    // Every entry up to m.index was acknowledged or is in a MsgApp the follower answers itself: this
    // message only moves its commit index, and an answer would tell nothing new (types.ts).
    m.commitOnly = true;
  }
  r.send(m);
  return true;
}

export function sendHeartbeat(r: Raft, to: NodeId, ctx: Uint8Array): void {
  // Never tell a follower a commit index beyond what it is known to have.
  const pr = r.prs.progress.get(to)!;
  const m = newMessage(MessageType.Heartbeat, to);
  m.commit = minNum(pr.match, r.raftLog.committed);
  m.context = ctx;
  r.send(m);
}

export function bcastAppend(r: Raft): void {
  for (const id of r.prs.progress.keys()) {
    if (id !== r.id) sendAppend(r, id);
  }
}

export function bcastHeartbeat(r: Raft): void {
  bcastHeartbeatWithCtx(r, r.readOnly.lastPendingRequestCtx() ?? EMPTY_BYTES);
}

export function bcastHeartbeatWithCtx(r: Raft, ctx: Uint8Array): void {
  for (const id of r.prs.progress.keys()) {
    if (id !== r.id) sendHeartbeat(r, id, ctx);
  }
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send(newMessage(MessageType.TimeoutNow, to));
}

export function stepLeader(r: Raft, m: Message): void {
  // Messages that need no progress of m.from.
  switch (m.type) {
    case MessageType.Beat:
      bcastHeartbeat(r);
      return;
    case MessageType.CheckQuorum:
      checkQuorum(r);
      return;
    case MessageType.Prop:
      leaderPropose(r, m);
      return;
    case MessageType.ReadIndex:
      if (r.prs.isSingleton()) {
        // Only one voter (us): the commit index is linearizable as is.
        respondToReadIndex(r, m, r.raftLog.committed);
        return;
      }
      if (!committedEntryInCurrentTerm(r)) {
        // Our commit index may be stale until an entry of our term commits.
        r.pendingReadIndexMessages.push(m);
        return;
      }
      startReadIndex(r, m);
      return;
  }

  const pr = r.prs.progress.get(m.from);
  if (pr === undefined) return;
  switch (m.type) {
    case MessageType.AppResp:
      handleAppendResponse(r, m, pr);
      return;
    case MessageType.HeartbeatResp:
      handleHeartbeatResponse(r, m, pr);
      return;
    case MessageType.SnapStatus:
      if (pr.state !== "snapshot") return;
      if (m.reject) {
        // Failed: forget the snapshot index before probing, or we would probe past it.
        pr.pendingSnapshot = 0;
      }
      pr.becomeProbe();
      // Wait for the MsgAppResp (success) or a heartbeat interval (failure) before the next probe.
      pr.probeSent = true;
      return;
    case MessageType.Unreachable:
      // An optimistic MsgApp was probably lost.
      if (pr.state === "replicate") pr.becomeProbe();
      return;
    case MessageType.TransferLeader:
      transferLeader(r, m.from, pr);
      return;
  }
}

/** MsgCheckQuorum: step down unless a quorum was heard from since the last check. */
function checkQuorum(r: Raft): void {
  const self = r.prs.progress.get(r.id);
  if (self !== undefined) self.recentActive = true;
  if (!r.prs.quorumActive()) {
    r.logger.warn("raft: stepped down to follower since quorum is not active", { id: String(r.id) });
    r.becomeFollower(r.term, NONE);
  }
  for (const [id, pr] of r.prs.progress) {
    if (id !== r.id) pr.recentActive = false;
  }
}

function handleHeartbeatResponse(r: Raft, m: Message, pr: PeerProgress): void {
  pr.recentActive = true;
  pr.probeSent = false;
  // Free one slot of a full window so a stalled follower makes progress.
  if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
  if (pr.match < r.raftLog.lastIndex()) sendAppend(r, m.from);
  if (m.context.byteLength === 0) return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (acks === undefined || voteResult(r.prs.voters, acks) !== VoteResult.Won) return;
  for (const rs of r.readOnly.advance(m.context)) respondToReadIndex(r, rs.req, rs.index);
}

/** MsgTransferLeader from `transferee` (RawNode steps it as from the target). */
function transferLeader(r: Raft, transferee: NodeId, pr: PeerProgress): void {
  if (pr.isLearner) return;
  if (r.leadTransferee !== NONE) {
    if (r.leadTransferee === transferee) return; // already in progress
    r.abortLeaderTransfer();
  }
  if (transferee === r.id) return;
  r.logger.info("raft: starts to transfer leadership", { id: String(r.id), to: String(transferee) });
  // The transfer must finish within an election timeout.
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.raftLog.lastIndex()) sendTimeoutNow(r, transferee);
  else sendAppend(r, transferee);
}

export function leaderPropose(r: Raft, m: Message): void {
  if (m.entries.length === 0) throw new RaftError("stepped empty MsgProp");
  if (!r.prs.progress.has(r.id)) throw ErrProposalDropped; // removed from the configuration
  if (r.leadTransferee !== NONE) throw ErrProposalDropped;
  let ents: readonly Entry[] = m.entries;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    if (e.type !== EntryType.ConfChange) continue;
    if (r.pendingConfIndex > r.raftLog.applied) {
      // One conf change at a time: this one becomes an empty normal entry.
      r.logger.info("raft: ignoring conf change: a previous one may be unapplied", {
        id: String(r.id),
        pendingConfIndex: r.pendingConfIndex,
        applied: r.raftLog.applied,
      });
      if (ents === m.entries) ents = m.entries.slice();
      (ents as Entry[])[i] = { term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES };
    } else {
      r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
    }
  }
  if (!r.appendEntry(ents)) throw ErrProposalDropped;
  bcastAppend(r);
}

export function handleAppendResponse(r: Raft, m: Message, pr: PeerProgress): void {
  pr.recentActive = true;
  if (m.reject) {
    // Fast back-off: the follower suggests (rejectHint, logTerm): the last index where its
    // log could match ours. Skip every index of ours with a term > logTerm too.
    let nextProbeIdx = m.rejectHint;
    if (m.logTerm > 0) nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm);
    if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
      if (pr.state === "replicate") pr.becomeProbe();
      sendAppend(r, m.from);
    }
    return;
  }
  const oldPaused = pr.isPaused();
  if (!pr.maybeUpdate(m.index)) return;
  if (pr.state === "probe") {
    pr.becomeReplicate();
  } else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) {
    // Caught up past the snapshot: resume replication.
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === "replicate") {
    pr.inflights.freeLE(m.index);
  }
  if (r.maybeCommit()) {
    // An entry of our term committed: pending reads may proceed.
    releasePendingReadIndexMessages(r);
    bcastAppend(r);
  } else if (oldPaused) {
    // It may have missed the commit index while paused.
    sendAppend(r, m.from);
  }
  // Fill the window (no empty messages).
  while (maybeSendAppend(r, m.from, false)) {
    /* keep sending */
  }
  if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
    r.logger.info("raft: transferee caught up, sending MsgTimeoutNow", { id: String(r.id), to: String(m.from) });
    sendTimeoutNow(r, m.from);
  }
}

export function switchToConfig(r: Raft): ConfState {
  const cs = r.prs.confState();
  r.updateIsLearner();
  const self = r.prs.progress.get(r.id);
  if (r.state === StateType.Leader && (self === undefined || self.isLearner)) {
    stepDownAfterRemoval(r);
    return cs;
  }
  if (r.state !== StateType.Leader || cs.voters.length === 0) return cs;
  if (r.maybeCommit()) {
    // The smaller quorum may commit more.
    releasePendingReadIndexMessages(r);
    bcastAppend(r);
  } else {
    // Probe newly added members right away.
    for (const id of r.prs.progress.keys()) {
      if (id !== r.id) maybeSendAppend(r, id, false);
    }
  }
  if (r.leadTransferee !== NONE && !r.prs.progress.has(r.leadTransferee)) r.abortLeaderTransfer();
  return cs;
}

/**
 * The leader was removed (or demoted): hand leadership to the most up-to-date voter with a
 * MsgTimeoutNow (if one has our whole log) and step down. Not in etcd 3.5 (it leaves the
 * removed leader in place until the server stops it).
 */
export function stepDownAfterRemoval(r: Raft): void {
  const last = r.raftLog.lastIndex();
  let best: NodeId = NONE;
  for (const id of r.prs.voterIds()) {
    const pr = r.prs.progress.get(id)!;
    if (id !== r.id && pr.match === last) {
      best = id;
      break;
    }
  }
  r.logger.info("raft: leader removed from the configuration, stepping down", {
    id: String(r.id),
    handoff: String(best),
  });
  if (best !== NONE) sendTimeoutNow(r, best);
  r.becomeFollower(r.term, NONE);
}

export function committedEntryInCurrentTerm(r: Raft): boolean {
  return r.raftLog.termOr(r.raftLog.committed, 0) === r.term;
}

export function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0) return;
  if (!committedEntryInCurrentTerm(r)) return;
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) startReadIndex(r, m);
}

/** Record the request at the current commit index and confirm leadership with a heartbeat round. */
export function startReadIndex(r: Raft, m: Message): void {
  r.readOnly.addRequest(r.raftLog.committed, m);
  r.readOnly.recvAck(r.id, m.context); // we acknowledge our own leadership
  bcastHeartbeatWithCtx(r, m.context);
}

/** A read index is established: a local ReadState or a MsgReadIndexResp to the follower. */
export function respondToReadIndex(r: Raft, req: Message, readIndex: number): void {
  if (req.from === NONE || req.from === r.id) {
    r.readStates.push({ index: readIndex, requestCtx: req.context });
    return;
  }
  const resp = newMessage(MessageType.ReadIndexResp, req.from);
  resp.index = readIndex;
  resp.context = req.context;
  r.send(resp);
}
