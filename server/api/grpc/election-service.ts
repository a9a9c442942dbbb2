import type { ServerMetrics } from "../../metrics/metrics.js";
import type { Int64, WireLeaderKey } from "../../pb/wire.js";
import type { ElectionService } from "../../etcdserver/requests/services.js";
import type { ServiceHandlers } from "./handlers.js";
import { serverStream } from "./server-stream.js";
import { unary } from "./unary.js";

export function electionService(h: ElectionService, metrics: ServerMetrics): ServiceHandlers {
  const svc = "v3electionpb.Election";
  return {
    Campaign: unary(metrics, svc, "Campaign", (ctx, r: { name: Buffer; lease: Int64; value: Buffer }) => h.campaign(ctx, r)),
    Proclaim: unary(metrics, svc, "Proclaim", (ctx, r: { leader: WireLeaderKey | null; value: Buffer }) => h.proclaim(ctx, r)),
    Leader: unary(metrics, svc, "Leader", (ctx, r: { name: Buffer }) => h.leader(ctx, r)),
    Resign: unary(metrics, svc, "Resign", (ctx, r: { leader: WireLeaderKey | null }) => h.resign(ctx, r)),
    // etcd sends from an unbuffered channel: a slow observer holds the recipe back
    Observe: serverStream(metrics, svc, "Observe", (ctx, r: { name: Buffer }) => h.observe(ctx, r)),
  };
}
