import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../../etcdserver/server.js";
import type { Member } from "../../membership/cluster.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { headerToWire } from "./header.js";
import { unary } from "./unary.js";
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../pb/grpc-services.js";
import { EtcdError, ErrCanceled, ErrNotLeader, ErrTimeout, GrpcCode } from "../../pb/errors.js";
import { isDeadlineExceeded, untilAborted } from "../../etcdserver/request-context.js";

/**
 * etcd's PromoteMember forwarding to the leader. Its end by deadline or cancellation is answered
 * with etcd's ErrTimeout / ErrCanceled, never with the forwarding call's own DEADLINE_EXCEEDED or
 * CANCELLED (clientv3 would retry those).
 */
function forwardToLeader(clientUrl: string, method: string, req: object, signal: AbortSignal): Promise<object> {
  const Ctor = clientConstructor("etcdserverpb", "Cluster");
  const client = new Ctor(new URL(clientUrl).host, grpc.credentials.createInsecure());
  const ended = () => (isDeadlineExceeded(signal) ? ErrTimeout : ErrCanceled);
  const call = new Promise<object>((resolve, reject) => {
    (client[method] as (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: object) => void) => void).call(
      client,
      req,
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
function clusterHeader(server: EtcdServer) {
  const { revision: _r, ...rest } = headerToWire(server.header());
  return rest;
}

export function memberToWire(m: Member) {
  return { ID: m.id.toString(), name: m.name, peerURLs: [...m.peerUrls], clientURLs: [...m.clientUrls], isLearner: m.isLearner };
}

export function clusterService(server: EtcdServer, metrics: ServerMetrics): UntypedServiceImplementation {
  const svc = "etcdserverpb.Cluster";
  return {
    MemberList: unary(metrics, svc, "MemberList", async () => ({ header: clusterHeader(server), members: server.members().map(memberToWire) })),
    MemberAdd: unary(metrics, svc, "MemberAdd", async (r: { peerURLs: string[]; isLearner: boolean }, signal) => {
      const { member, members } = await server.memberAdd(r.peerURLs ?? [], !!r.isLearner, signal);
      return { header: clusterHeader(server), member: memberToWire(member), members: members.map(memberToWire) };
    }),
    MemberRemove: unary(metrics, svc, "MemberRemove", async (r: { ID: string }, signal) => {
      const members = await server.memberRemove(BigInt(r.ID), signal);
      return { header: clusterHeader(server), members: members.map(memberToWire) };
    }),
    MemberUpdate: unary(metrics, svc, "MemberUpdate", async (r: { ID: string; peerURLs: string[] }, signal) => {
      const members = await server.memberUpdate(BigInt(r.ID), r.peerURLs ?? [], signal);
      return { header: clusterHeader(server), members: members.map(memberToWire) };
    }),
    MemberPromote: unary(metrics, svc, "MemberPromote", async (r: { ID: string }, signal) => {
      try {
        const members = await server.memberPromote(BigInt(r.ID), signal);
        return { header: clusterHeader(server), members: members.map(memberToWire) };
      } catch (e) {
        // Only the leader knows whether the learner is in sync: forward, as etcd does.
        const leader = server.members().find((m) => m.id === server.leader());
        if (e !== ErrNotLeader || !leader || leader.clientUrls.length === 0) throw e;
        return forwardToLeader(leader.clientUrls[0]!, "MemberPromote", r, signal);
      }
    }),
  };
}
