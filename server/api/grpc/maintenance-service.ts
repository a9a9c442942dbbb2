import type { ServerMetrics } from "../../metrics/metrics.js";
import type { MaintenanceService } from "../../etcdserver/requests/maintenance.js";
import type { WireAlarmRequest } from "../../pb/raft-entry.js";
import type { Int64 } from "../../pb/wire.js";
import { serverStream } from "./server-stream.js";
import { unary } from "./unary.js";
import type { ServiceHandlers } from "./handlers.js";

export function maintenanceService(h: MaintenanceService, metrics: ServerMetrics): ServiceHandlers {
  const svc = "etcdserverpb.Maintenance";
  return {
    Status: unary(metrics, svc, "Status", (ctx) => h.status(ctx)),
    Alarm: unary(metrics, svc, "Alarm", (ctx, r: WireAlarmRequest) => h.alarm(ctx, r)),
    MoveLeader: unary(metrics, svc, "MoveLeader", (ctx, r: { targetID: Int64 }) => h.moveLeader(ctx, r)),
    HashKV: unary(metrics, svc, "HashKV", (ctx, r: { revision: Int64 }) => h.hashKV(ctx, r)),
    Hash: unary(metrics, svc, "Hash", (ctx) => h.hash(ctx)),
    Defragment: unary(metrics, svc, "Defragment", (ctx) => h.defragment(ctx)),
    Snapshot: serverStream(metrics, svc, "Snapshot", (ctx) => h.snapshot(ctx)),
  };
}
