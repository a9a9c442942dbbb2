import type { ServerDuplexStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import type { LeaseService } from "../../etcdserver/requests/lease.js";
import { requestContext } from "../../etcdserver/requests/context.js";
import type { WireLeaseGrantRequest, WireLeaseRevokeRequest } from "../../pb/raft-entry.js";
import type { Int64 } from "../../pb/wire.js";
import { grpcCodeName, toServiceError } from "./errors.js";
import { streamSignal, unary } from "./unary.js";
import { credentialsOf } from "./credentials.js";

export function leaseService(h: LeaseService, metrics: ServerMetrics): UntypedServiceImplementation {
  const svc = "etcdserverpb.Lease";
  return {
    LeaseGrant: unary(metrics, svc, "LeaseGrant", (ctx, r: WireLeaseGrantRequest) => h.grant(ctx, r)),
    LeaseRevoke: unary(metrics, svc, "LeaseRevoke", (ctx, r: WireLeaseRevokeRequest) => h.revoke(ctx, r)),
    LeaseTimeToLive: unary(metrics, svc, "LeaseTimeToLive", (ctx, r: { ID: Int64; keys: boolean }) => h.timeToLive(ctx, r)),
    LeaseLeases: unary(metrics, svc, "LeaseLeases", (ctx) => h.leases(ctx)),
    LeaseKeepAlive: (call: ServerDuplexStream<{ ID: Int64 }, object>) => keepAliveStream(h, metrics, call),
  };
}

/** etcd's leaseKeepAlive loop: requests answered one at a time, in order; a client half-close ends the stream OK. */
function keepAliveStream(h: LeaseService, metrics: ServerMetrics, call: ServerDuplexStream<{ ID: Int64 }, object>): void {
  const labels = { grpc_type: "bidi_stream", grpc_service: "etcdserverpb.Lease", grpc_method: "LeaseKeepAlive" };
  metrics.grpcStarted.inc(labels);
  const ctx = requestContext(streamSignal(call), credentialsOf(call));
  let chain: Promise<void> = Promise.resolve();
  let done = false;
  const finish = (err?: unknown) => {
    if (done) return;
    done = true;
    metrics.grpcHandled.inc({ ...labels, grpc_code: err === undefined ? "OK" : grpcCodeName(err) });
    if (err === undefined) call.end();
    else call.emit("error", toServiceError(err));
  };
  call.on("data", (req: { ID: Int64 }) => {
    chain = chain.then(async () => {
      if (done) return;
      try {
        call.write(await h.keepAlive(ctx, req));
      } catch (e) {
        finish(e);
      }
    });
  });
  call.on("end", () => void chain.then(() => finish()));
  call.on("cancelled", () => {
    done = true;
  });
  call.on("error", () => {
    done = true;
  });
}
