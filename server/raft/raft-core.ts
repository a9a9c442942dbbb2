/**
 * What the role handlers (leader.ts, follower.ts) use of the Raft state machine. They take this
 * interface, which Raft implements, instead of the Raft class: raft.ts imports the handlers, and the
 * handlers import nothing back (no import cycle).
 */
import type { ProgressTracker } from "./progress.js";
import type { VoteResult } from "./quorum.js";
import type { RaftLog } from "./raft-log.js";
import type { ReadOnly } from "./read-only.js";
import type { Entry, Message, NodeId, RaftLogger, ReadState, StateType } from "./types.js";
import type { MutableMessage } from "./util.js";

export type CampaignType = "pre" | "election" | "transfer";

/** Context of a MsgVote sent because of a leader transfer: bypasses the lease check. */
export const CAMPAIGN_TRANSFER: Uint8Array = Uint8Array.from("CampaignTransfer", (c) => c.charCodeAt(0));

export interface RaftCore {
  readonly id: NodeId;
  term: number;
  state: StateType;
  lead: NodeId;
  leadTransferee: NodeId;
  pendingConfIndex: number;
  electionElapsed: number;
  readonly raftLog: RaftLog;
  prs: ProgressTracker;
  readonly readOnly: ReadOnly;
  pendingReadIndexMessages: Message[];
  msgs: Message[];
  readStates: ReadState[];
  readonly maxMsgSize: number;
  readonly logger: RaftLogger;
  send(m: MutableMessage): void;
  appendEntry(proposed: readonly Entry[]): boolean;
  maybeCommit(): boolean;
  becomeFollower(term: number, lead: NodeId): void;
  becomeLeader(): void;
  hup(t?: CampaignType): void;
  campaign(t: CampaignType): void;
  poll(id: NodeId, granted: boolean): VoteResult;
  abortLeaderTransfer(): void;
  updateIsLearner(): void;
}
