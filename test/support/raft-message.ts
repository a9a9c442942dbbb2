import { MessageType, type Message } from "../../server/raft/types.js";

/** A raft message with zero defaults for whatever the test does not set. */
export function raftMessage(m: Partial<Message> & Pick<Message, "type" | "from" | "to">): Message {
  return { term: 0, logTerm: 0, index: 0, commit: 0, rejectHint: 0, reject: false, context: new Uint8Array(), entries: [], snapshot: undefined, commitOnly: false, ...m };
}

/** A MsgSnap from `from` to `to` for a snapshot at `index` (term `term`), voters given or the two members. */
export function snapMessage(from: bigint, to: bigint, o: { index: number; term: number; voters?: bigint[]; data?: Uint8Array }): Message {
  return raftMessage({
    type: MessageType.Snap,
    from,
    to,
    term: o.term,
    snapshot: { metadata: { index: o.index, term: o.term, confState: { voters: o.voters ?? [from, to], learners: [] } }, data: o.data ?? new Uint8Array() },
  });
}
