import type { ServiceHandlers } from "./handlers.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import type { WireLockRequest } from "../../pb/wire.js";
import type { LockService } from "../../etcdserver/requests/services.js";
import { unary } from "./unary.js";

export function lockService(h: LockService, metrics: ServerMetrics): ServiceHandlers {
  const svc = "v3lockpb.Lock";
  return {
    Lock: unary(metrics, svc, "Lock", (ctx, r: WireLockRequest) => h.lock(ctx, r)),
    Unlock: unary(metrics, svc, "Unlock", (ctx, r: { key: Buffer }) => h.unlock(ctx, r)),
  };
}
