import type { ServerMetrics } from "../../metrics/metrics.js";
import type { ClientServices } from "../../etcdserver/requests/services.js";
import { GrpcServer } from "../../grpcwire/grpc-server.js";
import type { MethodSpec } from "../../grpcwire/method.js";
import type { SessionTimerOptions } from "../../grpcwire/session-timers.js";
import { methodSpecs } from "../../pb/grpc-services.js";
import { clusterService } from "./cluster-service.js";
import { kvService, kvSpecs } from "./kv-service.js";
import { maintenanceService } from "./maintenance-service.js";
import { learnerGuard, type LearnerView } from "./learner-guard.js";
import { leaseService } from "./lease-service.js";
import { watchService } from "./watch-service.js";
import { lockService } from "./lock-service.js";
import { electionService } from "./election-service.js";
import { timeHandling } from "./handling-time.js";
import { authService } from "./auth-service.js";
import type { ServiceHandlers } from "./handlers.js";

/** etcd lets a request exceed --max-request-bytes by this much at the gRPC layer, then rejects it in the server with ErrRequestTooLarge. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

export interface GrpcServerOptions {
  readonly maxRequestBytes: number;
  /** --max-concurrent-streams */
  readonly maxConcurrentStreams: number;
  /** Whether this member is a learner now (a learner refuses most RPCs, learner-guard.ts). */
  readonly member: LearnerView;
  /** Server keepalive pings and the idle limit of connections without streams: see embed/grpc-keepalive.ts. */
  readonly timers: SessionTimerOptions;
}

/** The client port's gRPC server: every service of the request layer, translated (server/grpcwire speaks gRPC). */
export function createGrpcServer(services: ClientServices, metrics: ServerMetrics, opts: GrpcServerOptions): GrpcServer {
  const g = new GrpcServer({ maxReceiveBytes: opts.maxRequestBytes + GRPC_OVERHEAD_BYTES, maxConcurrentStreams: opts.maxConcurrentStreams, ...opts.timers });
  const serve = (specs: Record<string, MethodSpec<unknown, unknown>>, handlers: ServiceHandlers) => {
    for (const [name, spec] of Object.entries(specs)) {
      let h = handlers[name];
      if (!h) continue; // a method of the proto etcd 3.4 does not serve: "unknown method" (grpcwire)
      h = learnerGuard(opts.member, spec.path, h);
      if (metrics.grpcHandlingSeconds) h = timeHandling(metrics.grpcHandlingSeconds, spec.path, spec.kind, h);
      if ("unary" in h) g.unary(spec, h.unary);
      else g.stream(spec, h.stream);
    }
  };
  serve(kvSpecs(), kvService(services.kv, metrics));
  serve(methodSpecs("etcdserverpb", "Maintenance"), maintenanceService(services.maintenance, metrics));
  serve(methodSpecs("etcdserverpb", "Cluster"), clusterService(services.cluster, metrics));
  serve(methodSpecs("etcdserverpb", "Lease"), leaseService(services.lease, metrics));
  serve(methodSpecs("etcdserverpb", "Watch"), watchService(services.watch, metrics));
  serve(methodSpecs("v3lockpb", "Lock"), lockService(services.lock, metrics));
  serve(methodSpecs("v3electionpb", "Election"), electionService(services.election, metrics));
  serve(methodSpecs("etcdserverpb", "Auth"), authService(services.auth, metrics));
  return g;
}
