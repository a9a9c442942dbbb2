/**
 * etcd's parseProposeCtxErr (etcdserver/server.go): which error a proposal that was handed to raft
 * gets when its context ends before the entry is applied. All of them are etcd errors that clientv3
 * does not retry for writes, unlike the DEADLINE_EXCEEDED / CANCELLED a gRPC layer would send.
 */
import { ErrCanceled, ErrCtxDeadlineExceeded, ErrTimeout, ErrTimeoutDueToConnectionLost, ErrTimeoutDueToLeaderFail, type EtcdError } from "../pb/errors.js";
import { NONE } from "../raft/types.js";

export interface LeadershipView {
  readonly selfId: bigint;
  readonly electionTimeoutMs: number;
  /** When this member last became leader (Date.now() ms; 0 if never). */
  leadElectedAt(): number;
  /** The current leader (NONE if none). */
  leader(): bigint;
  /** Every member of the cluster, learners included (etcd: cluster.Members()). */
  members(): readonly bigint[];
  /** Since when the stream to a peer has been up (0 while it is down): etcd's transport.ActiveSince. */
  activeSince(id: bigint): number;
}

/** `reason`: the context's error; `start`: when the request started waiting (Date.now() ms). */
export function parseProposeCtxErr(reason: EtcdError, start: number, v: LeadershipView): EtcdError {
  if (reason !== ErrCtxDeadlineExceeded) return ErrCanceled;
  const elected = v.leadElectedAt();
  // This member became leader while the request waited: the previous leader probably failed.
  if (start > elected - 2 * v.electionTimeoutMs && start < elected) return ErrTimeoutDueToLeaderFail;
  const lead = v.leader();
  if (lead === v.selfId) {
    if (!connectedToQuorumSince(v, start)) return ErrTimeoutDueToConnectionLost;
  } else if (lead !== NONE) {
    if (!connectedSince(v, lead, start)) return ErrTimeoutDueToConnectionLost;
  }
  return ErrTimeout;
}

function connectedSince(v: LeadershipView, id: bigint, since: number): boolean {
  const t = v.activeSince(id);
  return t !== 0 && t < since;
}

function connectedToQuorumSince(v: LeadershipView, since: number): boolean {
  const members = v.members();
  const connected = members.filter((id) => id === v.selfId || connectedSince(v, id, since)).length;
  return connected >= Math.floor(members.length / 2) + 1;
}
