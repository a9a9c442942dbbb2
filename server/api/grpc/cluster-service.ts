import type { ServiceHandlers } from "./handlers.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import type { ClusterService } from "../../etcdserver/requests/cluster.js";
import { unary } from "./unary.js";

export function clusterService(h: ClusterService, metrics: ServerMetrics): ServiceHandlers {
  const svc = "etcdserverpb.Cluster";
  return {
    MemberList: unary(metrics, svc, "MemberList", (ctx) => h.memberList(ctx)),
    MemberAdd: unary(metrics, svc, "MemberAdd", (ctx, r: { peerURLs: string[]; isLearner: boolean }) => h.memberAdd(ctx, r)),
    MemberRemove: unary(metrics, svc, "MemberRemove", (ctx, r: { ID: string }) => h.memberRemove(ctx, r)),
    MemberUpdate: unary(metrics, svc, "MemberUpdate", (ctx, r: { ID: string; peerURLs: string[] }) => h.memberUpdate(ctx, r)),
    MemberPromote: unary(metrics, svc, "MemberPromote", (ctx, r: { ID: string }) => h.memberPromote(ctx, r)),
  };
}
