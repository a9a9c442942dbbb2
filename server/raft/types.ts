/**
 * The Raft core's vocabulary. PURE: this folder imports nothing from node:*, uses no timers,
 * no clock and no global random; the driver (server/etcdserver) owns all I/O.
 * Modelled on etcd's raft library (raftpb + RawNode + Ready); the code is etcd-ts's own.
 *
 * IDs are uint64 as bigint. Terms and indexes are plain numbers (safe integers).
 */
export type NodeId = bigint;
export const NONE: NodeId = 0n;

export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Normal: an opaque proposal (empty for the leader's no-op); ConfChange: encodeConfChange(cc). */
  readonly data: Uint8Array;
}

export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The application's state at metadata.index (opaque to raft). */
  readonly data: Uint8Array;
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  UpdateNode = 2,
  AddLearnerNode = 3,
}

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque to raft (etcd puts the member's JSON here). */
  readonly context: Uint8Array;
}

export enum MessageType {
  Hup = 0,
  Beat = 1,
  Prop = 2,
  App = 3,
  AppResp = 4,
  Vote = 5,
  VoteResp = 6,
  Snap = 7,
  Heartbeat = 8,
  HeartbeatResp = 9,
  Unreachable = 10,
  SnapStatus = 11,
  CheckQuorum = 12,
  TransferLeader = 13,
  TimeoutNow = 14,
  ReadIndex = 15,
  ReadIndexResp = 16,
  PreVote = 17,
  PreVoteResp = 18,
}

export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly snapshot?: Snapshot;
  readonly reject: boolean;
  readonly rejectHint: number;
  /** ReadIndex request context, echoed back in ReadState. */
  readonly context: Uint8Array;
  /**
   * MsgApp only, etcd-ts's own (etcd's raftpb has no such field): the message carries no entries, only
   * the commit index, to a follower in replicate state, which acknowledged every entry up to `index`
   * or was sent them in MsgApps it answers itself (on the same ordered stream, before this one). So
   * accepting it needs no MsgAppResp; a rejection is still answered. etcd answers every MsgApp; the
   * answer to this one tells the leader nothing new, and those answers were a quarter of a put's
   * peer messages.
   */
  readonly commitOnly: boolean;
}

export enum StateType {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

export interface SoftState {
  readonly lead: NodeId;
  readonly raftState: StateType;
}

/** A linearizable read point: once applied index >= index, reads tagged `requestCtx` may be served. */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

/**
 * What the driver must do, in this order (etcd's rules):
 * 1. persist `snapshot` (if any), then `hardState` and `entries` to stable storage (fsync when mustSync);
 * 2. apply `snapshot` and append `entries` to the Storage the node reads;
 * 3. send `messages` (a message with a snapshot goes on the snapshot path);
 * 4. apply `committedEntries` to the state machine; conf changes via RawNode.applyConfChange;
 * 5. call RawNode.advance(ready).
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly readStates: readonly ReadState[];
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly mustSync: boolean;
}

export interface Config {
  readonly id: NodeId;
  /** Ticks without leader contact before a follower campaigns (randomized in [e, 2e)). */
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly storage: Storage;
  /** Last applied index on restart (entries up to it are not returned again). */
  readonly applied: number;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  /** Max bytes of uncommitted entries the leader accepts before dropping proposals (0: no limit). */
  readonly maxUncommittedEntriesSize: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  /** Injected randomness: an integer in [0, n). Seeded in tests, crypto-backed in the server. */
  readonly randInt: (n: number) => number;
  /** Optional structured logger (no-op by default). */
  readonly logger?: RaftLogger;
  /**
   * Optional (added): max bytes of committed entries handed out in one Ready (etcd's
   * MaxCommittedSizePerReady). Default: no limit. At least one entry is always returned.
   */
  readonly maxCommittedSizePerReady?: number;
}

export interface RaftLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** Read access to the stable log, as etcd's raft.Storage. */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxSize bytes (always at least one entry if any). Throws ErrCompacted / ErrUnavailable. */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  term(index: number): number;
  lastIndex(): number;
  firstIndex(): number;
  snapshot(): Snapshot;
}

export class RaftError extends Error {
  override readonly name = "RaftError";
}
export const ErrCompacted = new RaftError("requested index is unavailable due to compaction");
export const ErrSnapOutOfDate = new RaftError("requested index is older than the existing snapshot");
export const ErrUnavailable = new RaftError("requested entry at index is unavailable");
export const ErrProposalDropped = new RaftError("raft proposal dropped");
export const ErrStepLocalMsg = new RaftError("raft: cannot step raft local message");
export const ErrStepPeerNotFound = new RaftError("raft: cannot step as peer not found");
/** Added: a Storage.snapshot() may throw this; the leader then retries later (etcd's ErrSnapshotTemporarilyUnavailable). */
export const ErrSnapshotTemporarilyUnavailable = new RaftError("snapshot is temporarily unavailable");

export interface Progress {
  readonly match: number;
  readonly next: number;
  readonly state: "probe" | "replicate" | "snapshot";
  readonly isLearner: boolean;
  readonly recentActive: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly hardState: HardState;
  readonly softState: SoftState;
  readonly applied: number;
  readonly leadTransferee: NodeId;
  /** Only on the leader. */
  readonly progress?: ReadonlyMap<NodeId, Progress>;
}
