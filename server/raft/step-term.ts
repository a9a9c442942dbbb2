/**
 * The term rules of Raft's Step (etcd's raft.Step, first half): a message of a higher term makes
 * this node a follower of that term (unless it is a vote request within the leader's lease, or a
 * pre-vote), one of a lower term is answered so its sender learns the term, or dropped.
 */
import { CAMPAIGN_TRANSFER } from "./raft-core.js";
import { type Message, MessageType, NONE, type NodeId, type RaftLogger } from "./types.js";
import { bytesEqual, type MutableMessage, newMessage } from "./util.js";

/** What the term rules read and change of the Raft state machine (Raft implements it). */
export interface TermView {
  readonly id: NodeId;
  readonly term: number;
  readonly lead: NodeId;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly electionElapsed: number;
  readonly electionTimeout: number;
  readonly logger: RaftLogger;
  send(m: MutableMessage): void;
  becomeFollower(term: number, lead: NodeId): void;
}

/** Applies the term rules to `m`; false: the message is dropped (the caller does nothing more with it). */
export function stepTerm(r: TermView, m: Message): boolean {
  if (m.term === 0) {
    // local message (or a forwarded MsgProp / MsgReadIndex)
  } else if (m.term > r.term) {
    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
      const inLease = r.checkQuorum && r.lead !== NONE && r.electionElapsed < r.electionTimeout;
      if (!force && inLease) {
        // Heard from a leader within the election timeout: do not let a (possibly
        // partitioned) candidate disrupt it. Neither update the term nor vote.
        r.logger.info("raft: ignored vote request within lease", {
          id: String(r.id),
          from: String(m.from),
          term: r.term,
          msgTerm: m.term,
        });
        return false;
      }
    }
    if (m.type === MessageType.PreVote) {
      // Never change the term in response to a pre-vote.
    } else if (m.type === MessageType.PreVoteResp && !m.reject) {
      // A granted pre-vote carries the term we will campaign at; the term moves when we
      // win the pre-election.
    } else {
      r.logger.info("raft: received a message with higher term", {
        id: String(r.id),
        term: r.term,
        type: MessageType[m.type],
        from: String(m.from),
        msgTerm: m.term,
      });
      const fromLeader = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
      r.becomeFollower(m.term, fromLeader ? m.from : NONE);
    }
  } else if (m.term < r.term) {
    if ((r.checkQuorum || r.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
      // A leader of an older term: tell it our term so it steps down (needed since with
      // check-quorum / pre-vote our higher term may not spread through votes).
      r.send(newMessage(MessageType.AppResp, m.from));
    } else if (m.type === MessageType.PreVote) {
      // Reject explicitly, so a pre-candidate with a stale term learns ours.
      const resp = newMessage(MessageType.PreVoteResp, m.from);
      resp.term = r.term;
      resp.reject = true;
      r.send(resp);
    }
    // other stale messages are ignored
    return false;
  }
  return true;
}
