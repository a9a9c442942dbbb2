/**
 * The Cluster service (etcd's MemberList / MemberAdd / MemberRemove / MemberUpdate / MemberPromote):
 * changes go through raft as conf changes; a promotion only the leader can judge is forwarded to it.
 */
import * as grpc from "@grpc/grpc-js";
import type { EtcdServer } from "../server.js";
import type { Member } from "../../membership/cluster.js";
import { headerToWire } from "../../pb/convert.js";
import { clientConstructor } from "../../pb/grpc-services.js";
import { EtcdError, ErrCanceled, ErrNotLeader, ErrTimeout, GrpcCode } from "../../pb/errors.js";
import type { WireHeader } from "../../pb/wire.js";
import { isDeadlineExceeded, untilAborted } from "../request-context.js";
import type { RequestContext } from "./context.js";
import type { Access } from "./access.js";

export type ClusterHeader = Omit<WireHeader, "revision">;

export interface WireMember {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface Members {
  header: ClusterHeader;
  members: WireMember[];
}

export interface ClusterService {
  memberList(ctx: RequestContext): Promise<Members>;
  memberAdd(ctx: RequestContext, r: { peerURLs: string[]; isLearner: boolean }): Promise<Members & { member: WireMember }>;
  memberRemove(ctx: RequestContext, r: { ID: string }): Promise<Members>;
  memberUpdate(ctx: RequestContext, r: { ID: string; peerURLs: string[] }): Promise<Members>;
  memberPromote(ctx: RequestContext, r: { ID: string }): Promise<Members>;
}

/**
 * etcd's PromoteMember forwarding to the leader. Its end by deadline or cancellation is answered
 * with etcd's ErrTimeout / ErrCanceled, never with the forwarding call's own DEADLINE_EXCEEDED or
 * CANCELLED (clientv3 would retry those).
 */
function forwardToLeader(clientUrl: string, method: string, req: object, signal: AbortSignal, token?: string): Promise<object> {
  const Ctor = clientConstructor("etcdserverpb", "Cluster");
  const client = new Ctor(new URL(clientUrl).host, grpc.credentials.createInsecure());
  const ended = () => (isDeadlineExceeded(signal) ? ErrTimeout : ErrCanceled);
  const call = new Promise<object>((resolve, reject) => {
    // the caller's token goes along: the leader checks the caller as this member would
    const md = new grpc.Metadata();
    if (token) md.set("token", token);
    (client[method] as (r: object, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: object) => void) => void).call(
      client,
      req,
      md,
      { deadline: Date.now() + 10_000 },
      (err, res) => {
        client.close();
        if (!err) resolve(res);
        else if (err.code === grpc.status.DEADLINE_EXCEEDED) reject(ErrTimeout);
        else if (err.code === grpc.status.CANCELLED) reject(ErrCanceled);
        else reject(new EtcdError(err.code as number as GrpcCode, err.details));
      },
    );
  });
  return untilAborted(call, signal, ended);
}

/** etcd's Cluster responses carry cluster_id, member_id and raft_term, no revision. */
function clusterHeader(server: EtcdServer): ClusterHeader {
  const { revision: _r, ...rest } = headerToWire(server.header());
  return rest;
}

export function memberToWire(m: Member): WireMember {
  return { ID: m.id.toString(), name: m.name, peerURLs: [...m.peerUrls], clientURLs: [...m.clientUrls], isLearner: m.isLearner };
}

/** With auth on, member changes are root's (etcd 3.5's checkMembershipOperationPermission); the list is anyone's. */
export class ClusterRequests implements ClusterService {
  constructor(
    private readonly server: EtcdServer,
    private readonly access?: Access,
  ) {}

  private async admin(ctx: RequestContext): Promise<void> {
    await this.access?.check(ctx, this.access.admin);
  }

  async memberList(_ctx: RequestContext) {
    return { header: clusterHeader(this.server), members: this.server.members().map(memberToWire) };
  }

  async memberAdd(ctx: RequestContext, r: { peerURLs: string[]; isLearner: boolean }) {
    await this.admin(ctx);
    const { member, members } = await this.server.memberAdd(r.peerURLs ?? [], !!r.isLearner, ctx.signal);
    return { header: clusterHeader(this.server), member: memberToWire(member), members: members.map(memberToWire) };
  }

  async memberRemove(ctx: RequestContext, r: { ID: string }) {
    await this.admin(ctx);
    const members = await this.server.memberRemove(BigInt(r.ID), ctx.signal);
    return { header: clusterHeader(this.server), members: members.map(memberToWire) };
  }

  async memberUpdate(ctx: RequestContext, r: { ID: string; peerURLs: string[] }) {
    await this.admin(ctx);
    const members = await this.server.memberUpdate(BigInt(r.ID), r.peerURLs ?? [], ctx.signal);
    return { header: clusterHeader(this.server), members: members.map(memberToWire) };
  }

  async memberPromote(ctx: RequestContext, r: { ID: string }) {
    await this.admin(ctx);
    try {
      const members = await this.server.memberPromote(BigInt(r.ID), ctx.signal);
      return { header: clusterHeader(this.server), members: members.map(memberToWire) };
    } catch (e) {
      // Only the leader knows whether the learner is in sync: forward, as etcd does.
      const leader = this.server.members().find((m) => m.id === this.server.leader());
      if (e !== ErrNotLeader || !leader || leader.clientUrls.length === 0) throw e;
      return (await forwardToLeader(leader.clientUrls[0]!, "MemberPromote", r, ctx.signal, ctx.token)) as Members;
    }
  }
}
