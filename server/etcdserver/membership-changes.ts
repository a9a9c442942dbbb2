/**
 * The Cluster API's reconfigurations (etcd's AddMember, RemoveMember, UpdateMember, PromoteMember):
 * checked against the current membership (membership-checks.ts), then proposed as raft conf changes
 * that every member applies.
 */
import { sortedMembers, type Cluster, type Member } from "../membership/cluster.js";
import { computeMemberId } from "../membership/ids.js";
import { ErrNoLeader, ErrNotLeader } from "../pb/errors.js";
import { ConfChangeType, NONE } from "../raft/types.js";
import type { RawNode } from "../raft/raw-node.js";
import type { Clock } from "../util/clock.js";
import { checkLearnerReady, checkMemberAdd, checkMemberRemove, checkMemberUpdate, checkPromotable, type ReconfigView } from "./membership-checks.js";
import type { Proposer } from "./proposer.js";
import type { RaftStatus } from "./raft-status.js";

export interface MembershipChangesDeps {
  readonly status: RaftStatus;
  membership(): Cluster;
  readonly node: Pick<RawNode, "status">;
  readonly proposer: Pick<Proposer, "proposeConfChange">;
  /** Since when (clock ms) the stream to a peer is up; 0 when it is not. */
  activeSince(id: bigint): number;
  readonly clock: Clock;
  readonly initialClusterToken: string;
  readonly strictReconfigCheck: boolean;
}

export class MembershipChanges {
  constructor(private readonly d: MembershipChangesDeps) {}

  members(): Member[] {
    return sortedMembers(this.d.membership());
  }

  async add(peerUrls: readonly string[], isLearner: boolean, signal?: AbortSignal): Promise<{ member: Member; members: Member[] }> {
    checkMemberAdd(this.view(), peerUrls, isLearner);
    const id = computeMemberId(peerUrls, this.d.initialClusterToken, Math.floor(this.d.clock.now() / 1000));
    const member: Member = { id, name: "", peerUrls: [...peerUrls], clientUrls: [], isLearner };
    await this.d.proposer.proposeConfChange(isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, member.id, member, signal);
    return { member, members: this.members() };
  }

  async remove(id: bigint, signal?: AbortSignal): Promise<Member[]> {
    const m = checkMemberRemove(this.view(), id);
    await this.d.proposer.proposeConfChange(ConfChangeType.RemoveNode, id, m, signal);
    return this.members();
  }

  async update(id: bigint, peerUrls: readonly string[], signal?: AbortSignal): Promise<Member[]> {
    const m = checkMemberUpdate(this.d.membership().members, id, peerUrls);
    await this.d.proposer.proposeConfChange(ConfChangeType.UpdateNode, id, { ...m, peerUrls: [...peerUrls] }, signal);
    return this.members();
  }

  async promote(id: bigint, signal?: AbortSignal): Promise<Member[]> {
    const { status, node } = this.d;
    const m = checkPromotable(this.d.membership().members, id);
    if (!status.isLeader()) throw status.lead === NONE ? ErrNoLeader : ErrNotLeader;
    const st = node.status();
    checkLearnerReady(st.progress?.get(id)?.match ?? 0, st.hardState.commit);
    await this.d.proposer.proposeConfChange(ConfChangeType.AddNode, id, { ...m, isLearner: false }, signal);
    return this.members();
  }

  private view(): ReconfigView {
    return {
      members: this.d.membership().members,
      selfId: this.d.status.memberId,
      strict: this.d.strictReconfigCheck,
      activeSince: (id) => this.d.activeSince(id),
      now: this.d.clock.now(),
    };
  }
}
