import * as grpc from "@grpc/grpc-js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import type { ClientServices } from "../../etcdserver/requests/services.js";
import { serviceDefinition } from "../../pb/grpc-services.js";
import { clusterService } from "./cluster-service.js";
import { kvDefinition, kvService } from "./kv-service.js";
import { maintenanceService } from "./maintenance-service.js";
import { learnerGuard, type LearnerView } from "./learner-guard.js";
import { deadlineGuard } from "./deadline-guard.js";
import { leaseService } from "./lease-service.js";
import { watchService } from "./watch-service.js";
import { watchDefinitionPassingBuffers } from "./watch-definition.js";
import { lockService } from "./lock-service.js";
import { electionService } from "./election-service.js";
import { handlingTimeInterceptor } from "./handling-time.js";
import { authService } from "./auth-service.js";

/** etcd lets a request exceed --max-request-bytes by this much at the gRPC layer, then rejects it in the server with ErrRequestTooLarge. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

export interface GrpcServerOptions {
  readonly maxRequestBytes: number;
  /** Whether this member is a learner now (a learner refuses most RPCs, learner-guard.ts). */
  readonly member: LearnerView;
  /** Connection-level options (server keepalive pings, idle timeout): see embed/grpc-keepalive.ts. */
  readonly connectionOptions?: grpc.ServerOptions;
}

/** The client port's gRPC server: every service of the request layer, translated. */
export function createGrpcServer(services: ClientServices, metrics: ServerMetrics, opts: GrpcServerOptions): grpc.Server {
  // The deadline guard must come first: it wraps the base call (see deadline-guard.ts).
  const interceptors = [deadlineGuard(), learnerGuard(opts.member)];
  if (metrics.grpcHandlingSeconds) interceptors.splice(1, 0, handlingTimeInterceptor(metrics.grpcHandlingSeconds));
  // Client PINGs are policed by the listener (embed/keepalive-enforcement.ts): grpc-js servers have no such policy.
  const g = new grpc.Server({
    "grpc.max_receive_message_length": opts.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    "grpc.max_send_message_length": 2 ** 31 - 1,
    "grpc.max_concurrent_streams": 2 ** 31 - 1,
    // No channelz (etcd serves none, and nothing here reads it): with it, grpc-js allocates a call
    // tracker of four closures per call and timestamps every message (bench/figures/2026-12-05-memory-2.md).
    "grpc.enable_channelz": 0,
    ...opts.connectionOptions,
    interceptors,
  });
  g.addService(kvDefinition(), kvService(services.kv, metrics));
  g.addService(serviceDefinition("etcdserverpb", "Maintenance"), maintenanceService(services.maintenance, metrics));
  g.addService(serviceDefinition("etcdserverpb", "Cluster"), clusterService(services.cluster, metrics));
  g.addService(serviceDefinition("etcdserverpb", "Lease"), leaseService(services.lease, metrics));
  g.addService(watchDefinitionPassingBuffers(), watchService(services.watch, metrics));
  g.addService(serviceDefinition("v3lockpb", "Lock"), lockService(services.lock, metrics));
  g.addService(serviceDefinition("v3electionpb", "Election"), electionService(services.election, metrics));
  g.addService(serviceDefinition("etcdserverpb", "Auth"), authService(services.auth, metrics));
  return g;
}
