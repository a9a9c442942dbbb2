import type { ServerCall } from "../../grpcwire/server-call.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import type { LeaseService } from "../../etcdserver/requests/lease.js";
import { requestContext } from "../../etcdserver/requests/context.js";
import type { WireLeaseGrantRequest, WireLeaseRevokeRequest } from "../../pb/raft-entry.js";
import type { Int64 } from "../../pb/wire.js";
import { grpcCodeName, toStatus } from "./errors.js";
import { streamSignal } from "./call-context.js";
import { unary } from "./unary.js";
import { credentialsOf } from "./credentials.js";
import { streamHandler, type ServiceHandlers } from "./handlers.js";

export function leaseService(h: LeaseService, metrics: ServerMetrics): ServiceHandlers {
  const svc = "etcdserverpb.Lease";
  return {
    LeaseGrant: unary(metrics, svc, "LeaseGrant", (ctx, r: WireLeaseGrantRequest) => h.grant(ctx, r)),
    LeaseRevoke: unary(metrics, svc, "LeaseRevoke", (ctx, r: WireLeaseRevokeRequest) => h.revoke(ctx, r)),
    LeaseTimeToLive: unary(metrics, svc, "LeaseTimeToLive", (ctx, r: { ID: Int64; keys: boolean }) => h.timeToLive(ctx, r)),
    LeaseLeases: unary(metrics, svc, "LeaseLeases", (ctx) => h.leases(ctx)),
    LeaseKeepAlive: streamHandler((call: ServerCall<{ ID: Int64 }, object>) => keepAliveStream(h, metrics, call)),
  };
}

/** etcd's leaseKeepAlive loop: requests answered one at a time, in order; a client half-close ends the stream OK. */
function keepAliveStream(h: LeaseService, metrics: ServerMetrics, call: ServerCall<{ ID: Int64 }, object>): void {
  const labels = { grpc_type: "bidi_stream", grpc_service: "etcdserverpb.Lease", grpc_method: "LeaseKeepAlive" };
  metrics.grpcStarted.inc(labels);
  const ctx = requestContext(streamSignal(call), credentialsOf(call));
  let chain: Promise<void> = Promise.resolve();
  let counted = false;
  const count = (code: string) => {
    if (counted) return;
    counted = true;
    metrics.grpcHandled.inc({ ...labels, grpc_code: code });
  };
  call.onMessage = (req) => {
    chain = chain.then(async () => {
      if (call.done) return;
      try {
        call.write(await h.keepAlive(ctx, req));
      } catch (e) {
        count(grpcCodeName(e));
        call.fail(toStatus(e));
      }
    });
  };
  call.onHalfClose = () =>
    void chain.then(() => {
      count("OK");
      call.end();
    });
  call.onCancel(() => count("Canceled"));
}
