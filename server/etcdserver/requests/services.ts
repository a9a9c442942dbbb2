/**
 * The request layer: one interface per etcd v3 service, transport-neutral. The gRPC adapter
 * (api/grpc) and the JSON gateway (api/http) translate their transport into these calls and the
 * answers back, and do nothing else; whatever a request must pass (validation, forwarding to the
 * leader, linearizable reads, and the caller's context: see context.ts) happens behind them, once.
 *
 * Requests and responses are the API's protobuf messages in proto-loader's object shape
 * (pb/wire.ts), as etcd's own server takes and returns its protobuf types.
 */
import type { RequestContext } from "./context.js";
import type { Int64, WireHeader, WireLeaderKey, WireLeaderResponse, WireLockRequest } from "../../pb/wire.js";
import type { KvService } from "./kv.js";
import type { LeaseService } from "./lease.js";
import type { WatchService } from "./watch-session.js";
import type { ClusterService } from "./cluster.js";
import type { MaintenanceService } from "./maintenance.js";
import type { AuthService } from "./auth.js";

export type { KvService, LeaseService, WatchService, ClusterService, MaintenanceService, AuthService, RequestContext };

/** v3lockpb.Lock (served by the member's own recipes, api/v3client). */
export interface LockService {
  lock(ctx: RequestContext, r: WireLockRequest): Promise<{ header: WireHeader; key: Buffer }>;
  unlock(ctx: RequestContext, r: { key: Buffer }): Promise<{ header: WireHeader }>;
}

/** v3electionpb.Election (served by the member's own recipes, api/v3client). */
export interface ElectionService {
  campaign(ctx: RequestContext, r: { name: Buffer; lease: Int64; value: Buffer }): Promise<{ header: WireHeader; leader: WireLeaderKey }>;
  proclaim(ctx: RequestContext, r: { leader: WireLeaderKey | null; value: Buffer }): Promise<{ header: WireHeader }>;
  resign(ctx: RequestContext, r: { leader: WireLeaderKey | null }): Promise<{ header: WireHeader }>;
  leader(ctx: RequestContext, r: { name: Buffer }): Promise<WireLeaderResponse>;
  /** Leader changes and proclamations until `ctx` ends (or the observation does, on a compaction). */
  observe(ctx: RequestContext, r: { name: Buffer }): AsyncGenerator<WireLeaderResponse>;
}

/** Every service of the client port, as the adapters get them. */
export interface ClientServices {
  readonly kv: KvService;
  readonly lease: LeaseService;
  readonly watch: WatchService;
  readonly cluster: ClusterService;
  readonly maintenance: MaintenanceService;
  readonly lock: LockService;
  readonly election: ElectionService;
  readonly auth: AuthService;
}
