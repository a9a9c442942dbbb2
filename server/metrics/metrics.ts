import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { PendingCounts } from "./pending-counts.js";

/** The series operators and the benchmark read, under etcd's names and buckets. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly hasLeader = new Gauge({ name: "etcd_server_has_leader", help: "Whether or not a leader exists. 1 is existence, 0 is not.", registers: [this.registry] });
  readonly isLeader = new Gauge({ name: "etcd_server_is_leader", help: "Whether or not this member is a leader. 1 if is, 0 otherwise.", registers: [this.registry] });
  readonly leaderChanges = new Counter({ name: "etcd_server_leader_changes_seen_total", help: "The number of leader changes seen.", registers: [this.registry] });
  readonly proposalsCommitted = new Gauge({ name: "etcd_server_proposals_committed_total", help: "The total number of consensus proposals committed.", registers: [this.registry] });
  readonly proposalsApplied = new Gauge({ name: "etcd_server_proposals_applied_total", help: "The total number of consensus proposals applied.", registers: [this.registry] });
  readonly proposalsPending = new Gauge({ name: "etcd_server_proposals_pending", help: "The current number of pending proposals to commit.", registers: [this.registry] });
  readonly proposalsFailed = new Counter({ name: "etcd_server_proposals_failed_total", help: "The total number of failed proposals seen.", registers: [this.registry] });
  readonly slowReadIndex = new Counter({ name: "etcd_server_slow_read_indexes_total", help: "The total number of pending read indexes not in sync with leader's or timed out read index requests.", registers: [this.registry] });
  readonly readIndexFailed = new Counter({ name: "etcd_server_read_indexes_failed_total", help: "The total number of failed read indexes seen.", registers: [this.registry] });
  readonly walFsync = new Histogram({
    name: "etcd_disk_wal_fsync_duration_seconds",
    help: "The latency distributions of fsync called by WAL.",
    buckets: exponential(0.001, 2, 14),
    registers: [this.registry],
  });
  readonly backendCommit = new Histogram({
    name: "etcd_disk_backend_commit_duration_seconds",
    help: "The latency distributions of commit called by backend.",
    buckets: exponential(0.001, 2, 14),
    registers: [this.registry],
  });
  readonly grpcStarted: Counter<"grpc_type" | "grpc_service" | "grpc_method"> = new Counter({
    name: "grpc_server_started_total",
    help: "Total number of RPCs started on the server.",
    labelNames: ["grpc_type", "grpc_service", "grpc_method"],
    registers: [this.registry],
    collect: (): void => this.grpcStartedCounts.flush(),
  });
  readonly grpcHandled: Counter<"grpc_type" | "grpc_service" | "grpc_method" | "grpc_code"> = new Counter({
    name: "grpc_server_handled_total",
    help: "Total number of RPCs completed on the server, regardless of success or failure.",
    labelNames: ["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
    registers: [this.registry],
    collect: (): void => this.grpcHandledCounts.flush(),
  });
  /** The unary calls' counts under their method's fixed label sets, added to the two counters above when read. */
  readonly grpcStartedCounts: PendingCounts<"grpc_type" | "grpc_service" | "grpc_method"> = new PendingCounts(this.grpcStarted);
  readonly grpcHandledCounts: PendingCounts<"grpc_type" | "grpc_service" | "grpc_method" | "grpc_code"> = new PendingCounts(this.grpcHandled);
  readonly clientRequests = new Counter({ name: "etcd_server_client_requests_total", help: "The total number of client requests per client version.", labelNames: ["type", "client_api_version"], registers: [this.registry] });
  /** etcd's quota gauge: the configured --quota-backend-bytes (negative: disabled), 0 read as the 2 GiB default. */
  readonly quotaBackendBytes = new Gauge({ name: "etcd_server_quota_backend_bytes", help: "Current backend storage quota size in bytes.", registers: [this.registry] });
  readonly snapshotSaves = new Histogram({ name: "etcd_debugging_snap_save_total_duration_seconds", help: "The total latency distributions of save called by snapshot.", buckets: exponential(0.001, 2, 14), registers: [this.registry] });

  /** grpc_server_handling_seconds, present once enableHandlingTimeHistogram() ran (--metrics=extensive). */
  grpcHandlingSeconds: Histogram<"grpc_type" | "grpc_service" | "grpc_method"> | undefined;

  /** What etcd's --metrics=extensive adds (grpc_prometheus.EnableHandlingTimeHistogram): per-RPC latency, Prometheus' default buckets. */
  enableHandlingTimeHistogram(): void {
    this.grpcHandlingSeconds ??= new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
      labelNames: ["grpc_type", "grpc_service", "grpc_method"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
  }

  constructor(dbSize: () => number) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "etcd_server_version",
      help: "Which version is running. 1 for 'server_version' label with current version.",
      labelNames: ["server_version"],
      registers: [this.registry],
    }).set({ server_version: "3.4.0" }, 1);
    for (const name of ["etcd_mvcc_db_total_size_in_bytes", "etcd_debugging_mvcc_db_total_size_in_bytes"]) {
      new Gauge({
        name,
        help: "Total size of the underlying database physically allocated in bytes.",
        registers: [this.registry],
        collect() {
          this.set(dbSize());
        },
      });
    }
  }
}

function exponential(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}
