/**
 * The follower's and candidate's side of the protocol: handling MsgApp, heartbeats and
 * snapshots from the leader, vote responses, forwarding proposals / reads / transfers.
 */
import { bcastAppend } from "./leader.js";
import { ProgressTracker } from "./progress.js";
import { VoteResult } from "./quorum.js";
import type { RaftCore as Raft } from "./raft-core.js";
import { ErrProposalDropped, type Message, MessageType, NONE, type Snapshot, StateType } from "./types.js";
import { minNum, type MutableMessage, newMessage } from "./util.js";

export function stepCandidate(r: Raft, m: Message): void {
  // Only responses to our current kind of campaign count (a candidate may still get stale
  // pre-vote responses of this term).
  const myVoteResp = r.state === StateType.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
  switch (m.type) {
    case MessageType.Prop:
      throw ErrProposalDropped;
    case MessageType.App:
      r.becomeFollower(m.term, m.from); // m.term === r.term here
      handleAppendEntries(r, m);
      return;
    case MessageType.Heartbeat:
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case MessageType.Snap:
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case myVoteResp: {
      const res = r.poll(m.from, !m.reject);
      if (res === VoteResult.Won) {
        if (r.state === StateType.PreCandidate) {
          r.campaign("election");
        } else {
          r.becomeLeader();
          bcastAppend(r);
        }
      } else if (res === VoteResult.Lost) {
        // A pre-vote response carries a future term: stay at ours.
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    default:
      // MsgTimeoutNow, MsgReadIndex, ... are ignored while campaigning.
      return;
  }
}

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Prop: {
      if (r.lead === NONE) throw ErrProposalDropped;
      const f = { ...m, to: r.lead } as MutableMessage;
      r.send(f);
      return;
    }
    case MessageType.App:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case MessageType.Heartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case MessageType.Snap:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case MessageType.TransferLeader: {
      if (r.lead === NONE) return;
      // Forwarded as is: `from` stays the transferee (etcd would overwrite it with ours).
      r.msgs.push({ ...m, to: r.lead, term: r.term });
      return;
    }
    case MessageType.TimeoutNow:
      // Transfers skip pre-vote: we know the leader wants us to take over. The same checks
      // as for an election apply (etcd 3.6 behaviour; 3.5 skipped the conf change check).
      r.logger.info("raft: received MsgTimeoutNow, campaigning", { id: String(r.id), term: r.term });
      r.hup("transfer");
      return;
    case MessageType.ReadIndex: {
      if (r.lead === NONE) return; // dropped; the client retries
      r.send({ ...m, to: r.lead } as MutableMessage);
      return;
    }
    case MessageType.ReadIndexResp:
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return;
    default:
      return;
  }
}

export function handleAppendEntries(r: Raft, m: Message): void {
  const log = r.raftLog;
  if (m.index < log.committed) {
    const resp = newMessage(MessageType.AppResp, m.from);
    resp.index = log.committed;
    r.send(resp);
    return;
  }
  const lastNew = log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew >= 0) {
    // The leader knows we hold m.index: an answer would tell it nothing (types.ts, Message.commitOnly).
    if (m.commitOnly && m.entries.length === 0) return;
    const resp = newMessage(MessageType.AppResp, m.from);
    resp.index = lastNew;
    r.send(resp);
    return;
  }
  // Reject with a hint: the largest index <= min(m.index, last) whose term is <= m.logTerm.
  // The leader can then skip all entries of terms we can not match.
  let hintIndex = minNum(m.index, log.lastIndex());
  hintIndex = log.findConflictByTerm(hintIndex, m.logTerm);
  const hintTerm = log.termOr(hintIndex, 0);
  const resp = newMessage(MessageType.AppResp, m.from);
  resp.index = m.index;
  resp.reject = true;
  resp.rejectHint = hintIndex;
  resp.logTerm = hintTerm;
  r.send(resp);
}

export function handleHeartbeat(r: Raft, m: Message): void {
  r.raftLog.commitTo(m.commit);
  const resp = newMessage(MessageType.HeartbeatResp, m.from);
  resp.context = m.context;
  r.send(resp);
}

export function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot;
  const resp = newMessage(MessageType.AppResp, m.from);
  if (s !== undefined && restore(r, s)) {
    r.logger.info("raft: restored snapshot", {
      id: String(r.id),
      index: s.metadata.index,
      term: s.metadata.term,
    });
    resp.index = r.raftLog.lastIndex();
  } else {
    resp.index = r.raftLog.committed;
  }
  r.send(resp);
}

/**
 * Install a snapshot received from the leader. Returns false if it was ignored (stale, not
 * containing us, or our log already has its last entry, in which case we just commit).
 */
export function restore(r: Raft, s: Snapshot): boolean {
  const meta = s.metadata;
  if (meta.index <= r.raftLog.committed) return false;
  if (r.state !== StateType.Follower) {
    // Defense in depth: never happens (only followers receive snapshots).
    r.logger.warn("raft: attempted to restore snapshot while not follower", { id: String(r.id) });
    r.becomeFollower(r.term + 1, NONE);
    return false;
  }
  const cs = meta.confState;
  // Unlike etcd, a snapshot whose configuration does not contain us is accepted: it happens
  // when the driver sends a snapshot older than our (re-)addition; the later entries add us
  // back. Refusing it would make the leader resend the same snapshot forever. Until then we
  // are not promotable (not a member), which is safe.
  if (r.raftLog.matchTerm(meta.index, meta.term)) {
    // We already have the entries: fast-forward the commit index only.
    r.raftLog.commitTo(meta.index);
    return false;
  }
  r.raftLog.restore(s);
  r.prs = new ProgressTracker(r.prs.maxInflight);
  r.prs.restore(cs, r.raftLog.lastIndex());
  r.updateIsLearner();
  const pr = r.prs.progress.get(r.id);
  if (pr !== undefined) pr.maybeUpdate(pr.next - 1);
  return true;
}
