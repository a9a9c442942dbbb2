/**
 * The preconditions of the Cluster API's reconfigurations (etcd's cluster.ValidateConfigurationChange
 * and the strict-reconfig checks of server.go), as pure functions: the server calls one, then builds
 * and proposes the conf change. Each throws the etcd error the API returns.
 */
import type { Member } from "../membership/cluster.js";
import {
  ErrLearnerNotReady,
  ErrMemberBadURLs,
  ErrMemberNotEnoughStarted,
  ErrMemberNotFound,
  ErrMemberNotLearner,
  ErrPeerURLExist,
  ErrTooManyLearners,
  ErrUnhealthy,
} from "../pb/errors.js";

/** etcd's HealthInterval: how long every voter must have been connected before a member add. */
export const HEALTH_INTERVAL_MS = 5000;

/** What a check sees of the cluster and of this member's peer connections. */
export interface ReconfigView {
  readonly members: ReadonlyMap<bigint, Member>;
  readonly selfId: bigint;
  /** --strict-reconfig-check: refuse changes that could cost the cluster its quorum. */
  readonly strict: boolean;
  /** Since when (ms) the stream to a peer is up; 0 when it is not. */
  activeSince(id: bigint): number;
  /** Wall clock, ms. */
  readonly now: number;
}

export function validPeerUrl(u: string): boolean {
  try {
    const url = new URL(u);
    return (url.protocol === "http:" || url.protocol === "https:") && url.port !== "" && (url.pathname === "/" || url.pathname === "");
  } catch {
    return false;
  }
}

export function checkMemberAdd(v: ReconfigView, peerUrls: readonly string[], isLearner: boolean): void {
  if (peerUrls.length === 0 || !peerUrls.every(validPeerUrl)) throw ErrMemberBadURLs;
  const members = [...v.members.values()];
  if (members.some((m) => m.peerUrls.some((u) => peerUrls.includes(u)))) throw ErrPeerURLExist;
  if (isLearner && members.filter((m) => m.isLearner).length >= 1) throw ErrTooManyLearners;
  if (!v.strict) return;
  const voters = members.filter((m) => !m.isLearner);
  if (!isLearner) {
    const started = voters.filter((m) => m.id === v.selfId || v.activeSince(m.id) > 0).length;
    if (started + 1 < Math.floor((voters.length + 1) / 2) + 1) throw ErrMemberNotEnoughStarted;
  }
  // etcd's isConnectedFullySince: every voter connected for the last health interval.
  const since = v.now - HEALTH_INTERVAL_MS;
  const healthy = voters.every((m) => m.id === v.selfId || (v.activeSince(m.id) > 0 && v.activeSince(m.id) <= since));
  if (!healthy) throw ErrUnhealthy;
}

/** Returns the member to remove. Removing a voter must leave a started quorum (strict mode). */
export function checkMemberRemove(v: ReconfigView, id: bigint): Member {
  const m = v.members.get(id);
  if (!m) throw ErrMemberNotFound;
  if (!m.isLearner && v.strict) {
    const remaining = [...v.members.values()].filter((x) => !x.isLearner && x.id !== id);
    const started = remaining.filter((x) => x.id === v.selfId || v.activeSince(x.id) > 0).length;
    if (started < Math.floor(remaining.length / 2) + 1) throw ErrMemberNotEnoughStarted;
  }
  return m;
}

/** Returns the member to update. */
export function checkMemberUpdate(members: ReadonlyMap<bigint, Member>, id: bigint, peerUrls: readonly string[]): Member {
  const m = members.get(id);
  if (!m) throw ErrMemberNotFound;
  if (peerUrls.length === 0 || !peerUrls.every(validPeerUrl)) throw ErrMemberBadURLs;
  for (const x of members.values()) if (x.id !== id && x.peerUrls.some((u) => peerUrls.includes(u))) throw ErrPeerURLExist;
  return m;
}

/** Returns the learner to promote (the leader checks its readiness with checkLearnerReady). */
export function checkPromotable(members: ReadonlyMap<bigint, Member>, id: bigint): Member {
  const m = members.get(id);
  if (!m) throw ErrMemberNotFound;
  if (!m.isLearner) throw ErrMemberNotLearner;
  return m;
}

/** etcd's readiness rule: the learner's log is within 90% of the leader's. */
export function checkLearnerReady(learnerMatch: number, leaderCommit: number): void {
  if (learnerMatch < 0.9 * leaderCommit) throw ErrLearnerNotReady;
}
