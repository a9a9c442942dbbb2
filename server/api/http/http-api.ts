import type { IncomingMessage, ServerResponse } from "node:http";
import { API_VERSION, CLUSTER_VERSION } from "../../etcdserver/server.js";
import type { ClientServices, MaintenanceService } from "../../etcdserver/requests/services.js";
import { requestContext, type RequestContext } from "../../etcdserver/requests/context.js";
import { toApiError } from "../../etcdserver/requests/api-errors.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { EtcdError, GrpcCode } from "../../pb/errors.js";
import { messageCodec } from "../../pb/proto.js";
import type { WireLeaseGrantRequest, WireLeaseRevokeRequest } from "../../pb/raft-entry.js";
import type {
  Int64,
  WireCompactionRequest,
  WireDeleteRangeRequest,
  WireLeaderKey,
  WireLockRequest,
  WirePutRequest,
  WireRangeRequest,
  WireTxnRequest,
} from "../../pb/wire.js";
import { ETCD_TS_VERSION } from "../../version.js";
import { GatewayCodec } from "./json-codec.js";
import { keepAliveOverHttp, watchOverHttp } from "./gateway-streams.js";
import { observeOverHttp } from "./gateway-observe.js";
import { discardRest, readFirstValue } from "./read-body.js";
import { GatewayRequestDecoder, GRPC_OVERHEAD_BYTES, maxJsonBytes, UNDECODABLE } from "./gateway-request.js";
import { gatewayError, refuse, writeJson as json } from "./gateway-refuse.js";
import { gatewayCredentials } from "./gateway-credentials.js";
import { authRoutes } from "./gateway-auth-routes.js";
import { clusterRoutes, maintenanceRoutes } from "./gateway-admin-routes.js";
import { snapshotOverHttp } from "./gateway-snapshot.js";

interface Route {
  readonly request: GatewayRequestDecoder;
  readonly response: GatewayCodec;
  /** Receives the protobuf bytes of the request (the gateway is a client of the same services as gRPC). */
  readonly handle: (ctx: RequestContext, raw: Buffer) => Promise<object>;
}

export interface HttpApiOptions {
  readonly maxRequestBytes: number;
}

/** A request message's decoder; bytes it refuses get the gRPC server's answer: Internal, "Error deserializing request". */
function decoder<T>(typeName: string): (raw: Buffer) => T {
  const codec = messageCodec<T>(typeName);
  return (raw) => {
    try {
      return codec.decode(raw);
    } catch {
      throw new EtcdError(GrpcCode.Internal, UNDECODABLE);
    }
  };
}

/** The unary routes of the JSON gateway: path -> request type, response type, service call. */
function unaryRoutes(s: ClientServices, grpcLimit: number): Record<string, Route> {
  const route = <T>(req: string, res: string, handle: (ctx: RequestContext, msg: T, raw: Buffer) => Promise<object>): Route => {
    const reqType = req.includes(".") ? req : `etcdserverpb.${req}`;
    const decode = decoder<T>(reqType);
    return {
      request: new GatewayRequestDecoder(reqType, grpcLimit),
      response: new GatewayCodec(res.includes(".") ? res : `etcdserverpb.${res}`),
      handle: (ctx, raw) => handle(ctx, decode(raw), raw),
    };
  };
  const routes: Record<string, Route> = {
    "/v3/kv/range": route<WireRangeRequest>("RangeRequest", "RangeResponse", (ctx, msg) => s.kv.range(ctx, msg)),
    "/v3/kv/put": route<WirePutRequest>("PutRequest", "PutResponse", (ctx, msg, raw) => s.kv.put(ctx, { raw, msg })),
    "/v3/kv/deleterange": route<WireDeleteRangeRequest>("DeleteRangeRequest", "DeleteRangeResponse", (ctx, msg, raw) => s.kv.deleteRange(ctx, { raw, msg })),
    "/v3/kv/txn": route<WireTxnRequest>("TxnRequest", "TxnResponse", (ctx, msg, raw) => s.kv.txn(ctx, { raw, msg })),
    "/v3/kv/compaction": route<WireCompactionRequest>("CompactionRequest", "CompactionResponse", (ctx, msg, raw) => s.kv.compact(ctx, { raw, msg })),
    "/v3/lease/grant": route<WireLeaseGrantRequest>("LeaseGrantRequest", "LeaseGrantResponse", (ctx, msg) => s.lease.grant(ctx, msg)),
    "/v3/lease/revoke": route<WireLeaseRevokeRequest>("LeaseRevokeRequest", "LeaseRevokeResponse", (ctx, msg) => s.lease.revoke(ctx, msg)),
    "/v3/lease/timetolive": route<{ ID: Int64; keys: boolean }>("LeaseTimeToLiveRequest", "LeaseTimeToLiveResponse", (ctx, msg) => s.lease.timeToLive(ctx, msg)),
    "/v3/lease/leases": route("LeaseLeasesRequest", "LeaseLeasesResponse", (ctx) => s.lease.leases(ctx)),
    "/v3/lock/lock": route<WireLockRequest>("v3lockpb.LockRequest", "v3lockpb.LockResponse", (ctx, msg) => s.lock.lock(ctx, msg)),
    "/v3/lock/unlock": route<{ key: Buffer }>("v3lockpb.UnlockRequest", "v3lockpb.UnlockResponse", (ctx, msg) => s.lock.unlock(ctx, msg)),
    "/v3/election/campaign": route<{ name: Buffer; lease: Int64; value: Buffer }>("v3electionpb.CampaignRequest", "v3electionpb.CampaignResponse", (ctx, msg) =>
      s.election.campaign(ctx, msg),
    ),
    "/v3/election/proclaim": route<{ leader: WireLeaderKey | null; value: Buffer }>("v3electionpb.ProclaimRequest", "v3electionpb.ProclaimResponse", (ctx, msg) =>
      s.election.proclaim(ctx, msg),
    ),
    "/v3/election/leader": route<{ name: Buffer }>("v3electionpb.LeaderRequest", "v3electionpb.LeaderResponse", (ctx, msg) => s.election.leader(ctx, msg)),
    "/v3/election/resign": route<{ leader: WireLeaderKey | null }>("v3electionpb.ResignRequest", "v3electionpb.ResignResponse", (ctx, msg) => s.election.resign(ctx, msg)),
  };
  Object.assign(routes, authRoutes(s, route));
  const admin = { ...clusterRoutes(s.cluster), ...maintenanceRoutes(s.maintenance) };
  for (const [path, r] of Object.entries(admin)) routes[path] = route(r.req, r.res, (ctx, msg: never) => r.call(ctx, msg));
  // etcd's older paths for the same lease calls
  routes["/v3/kv/lease/revoke"] = routes["/v3/lease/revoke"]!;
  routes["/v3/kv/lease/timetolive"] = routes["/v3/lease/timetolive"]!;
  routes["/v3/kv/lease/leases"] = routes["/v3/lease/leases"]!;
  return routes;
}

/**
 * The HTTP side of the client port: etcd's /health, /livez, /readyz, /version, /metrics,
 * and the JSON gateway (POST /v3/...), which decodes JSON to the same protobuf the gRPC
 * clients send and calls the same services.
 */
export function createHttpApi(services: ClientServices, metrics: ServerMetrics, opts: HttpApiOptions) {
  const { maxRequestBytes } = opts;
  const grpcLimit = maxRequestBytes + GRPC_OVERHEAD_BYTES;
  const routes = unaryRoutes(services, grpcLimit);
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = gatewayPath((req.url ?? "/").split("?")[0]!);
    try {
      if (path === "/health" || path === "/readyz") return await health(path, services.maintenance, res);
      if (path === "/livez") return text(res, 200, "ok");
      if (path === "/version") return json(res, 200, { etcdserver: API_VERSION, etcdcluster: CLUSTER_VERSION, "etcd-ts": ETCD_TS_VERSION });
      if (path === "/metrics") {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
        return;
      }
      if (req.method === "POST" && path === "/v3/watch") return watchOverHttp(services.watch, req, res, maxRequestBytes);
      if (req.method === "POST" && path === "/v3/lease/keepalive") return keepAliveOverHttp(services.lease, req, res, maxRequestBytes);
      if (req.method === "POST" && path === "/v3/election/observe") return observeOverHttp(services.election, req, res, maxRequestBytes);
      if (req.method === "POST" && path === "/v3/maintenance/snapshot") return snapshotOverHttp(services.maintenance, req, res, maxRequestBytes);
      const r = routes[path];
      // under /v3/ grpc-gateway's mux answers an unknown route; elsewhere Go's ServeMux does
      if (!r) return text(res, 404, path.startsWith("/v3/") ? "Not Found\n" : "404 page not found\n");
      if (req.method !== "POST") return gatewayError(res, new EtcdError(GrpcCode.Unimplemented, "Method Not Allowed"), 405);
      const decoded = r.request.decode(await readFirstValue(req, maxJsonBytes(grpcLimit), r.request.isKnownKey));
      discardRest(req, res);
      if (!decoded.ok) return refuse(req, res, decoded);
      // the caller's context: a request whose client went away stops waiting (a Lock or Campaign cleans up)
      const ac = new AbortController();
      res.once("close", () => ac.abort());
      json(res, 200, r.response.toJson(await r.handle(requestContext(ac.signal, gatewayCredentials(req)), decoded.raw)));
    } catch (e) {
      gatewayError(res, toApiError(e));
    }
  };
}

/** etcd 3.4's accessController serves /v3beta/... as /v3/... (its older gateway prefix); 3.4 has no /v3alpha. */
export function gatewayPath(path: string): string {
  return path.startsWith("/v3beta/") ? "/v3/" + path.slice("/v3beta/".length) : path;
}

async function health(path: string, maintenance: MaintenanceService, res: ServerResponse): Promise<void> {
  const h = await maintenance.health(requestContext());
  if (path === "/readyz") return text(res, h.health ? 200 : 503, h.health ? "ok" : `[-]${h.reason}\nreadyz check failed`);
  json(res, h.health ? 200 : 503, { health: String(h.health), reason: h.reason });
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(body);
}
