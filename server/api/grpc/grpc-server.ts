import * as grpc from "@grpc/grpc-js";
import type { EtcdServer } from "../../etcdserver/server.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { serviceDefinition } from "../../pb/grpc-services.js";
import { clusterService } from "./cluster-service.js";
import { KV_RAW_METHODS, KvHandlers, kvService } from "./kv-service.js";
import { maintenanceService } from "./maintenance-service.js";
import { keepRawBytes } from "./raw-requests.js";
import { learnerGuard } from "./learner-guard.js";
import { deadlineGuard } from "./deadline-guard.js";
import { LeaseHandlers, leaseService } from "./lease-service.js";
import { watchService } from "./watch-service.js";
import { watchDefinitionPassingBuffers } from "./watch-encode.js";
import { lockService } from "./lock-service.js";
import { electionService } from "./election-service.js";
import { recipeHandlers, type RecipeHandlers } from "../v3client/recipes.js";
import { handlingTimeInterceptor } from "./handling-time.js";

/** etcd lets a request exceed --max-request-bytes by this much at the gRPC layer, then rejects it in the server with ErrRequestTooLarge. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

export function createGrpcServer(
  server: EtcdServer,
  kv: KvHandlers,
  metrics: ServerMetrics,
  maxRequestBytes: number,
  leases: LeaseHandlers = new LeaseHandlers(server),
  watchOpts: { progressNotifyMs?: number } = {},
  recipes: RecipeHandlers = recipeHandlers(server, leases),
  /** Connection-level options (server keepalive pings, idle timeout): see embed/grpc-keepalive.ts. */
  connectionOptions: grpc.ServerOptions = {},
): grpc.Server {
  // The deadline guard must come first: it wraps the base call (see deadline-guard.ts).
  const interceptors = [deadlineGuard(), learnerGuard(server)];
  if (metrics.grpcHandlingSeconds) interceptors.splice(1, 0, handlingTimeInterceptor(metrics.grpcHandlingSeconds));
  // Client PINGs are policed by the listener (embed/keepalive-enforcement.ts): grpc-js servers have no such policy.
  const g = new grpc.Server({
    "grpc.max_receive_message_length": maxRequestBytes + GRPC_OVERHEAD_BYTES,
    "grpc.max_send_message_length": 2 ** 31 - 1,
    "grpc.max_concurrent_streams": 2 ** 31 - 1,
    ...connectionOptions,
    interceptors,
  });
  g.addService(keepRawBytes(serviceDefinition("etcdserverpb", "KV"), KV_RAW_METHODS), kvService(kv, metrics));
  g.addService(serviceDefinition("etcdserverpb", "Maintenance"), maintenanceService(server, metrics));
  g.addService(serviceDefinition("etcdserverpb", "Cluster"), clusterService(server, metrics));
  g.addService(serviceDefinition("etcdserverpb", "Lease"), leaseService(leases, metrics));
  g.addService(watchDefinitionPassingBuffers(), watchService(server, metrics, { maxRequestBytes, ...watchOpts }));
  g.addService(serviceDefinition("v3lockpb", "Lock"), lockService(recipes.lock, metrics));
  g.addService(serviceDefinition("v3electionpb", "Election"), electionService(recipes.election, metrics));
  return g;
}
