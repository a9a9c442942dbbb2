import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServiceDefinition } from "@grpc/grpc-js";
import type { EtcdServer } from "../../etcdserver/server.js";
import { API_VERSION, CLUSTER_VERSION } from "../../etcdserver/server.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { EtcdError, GrpcCode } from "../../pb/errors.js";
import { toApiError } from "../../etcdserver/requests/api-errors.js";
import type { KvHandlers } from "../grpc/kv-service.js";
import { serviceDefinition } from "../../pb/grpc-services.js";
import { GatewayCodec } from "./json-codec.js";
import { ETCD_TS_VERSION } from "../../version.js";
import { LeaseHandlers } from "../grpc/lease-service.js";
import { keepAliveOverHttp, watchOverHttp } from "./gateway-streams.js";
import { observeOverHttp } from "./gateway-observe.js";
import { discardRest, readFirstValue } from "./read-body.js";
import { GatewayRequestDecoder, GRPC_OVERHEAD_BYTES, maxJsonBytes, UNDECODABLE } from "./gateway-request.js";
import { gatewayError, refuse, writeJson as json } from "./gateway-refuse.js";
import { recipeHandlers, type RecipeHandlers } from "../v3client/recipes.js";
import type { WireLockRequest } from "../grpc/lock-service.js";
import type { WireLeaderKey } from "../grpc/election-service.js";

interface Route {
  readonly request: GatewayRequestDecoder;
  readonly response: GatewayCodec;
  /** Receives the protobuf bytes of the request (the gateway is a client of the same handlers as gRPC). */
  readonly handle: (raw: Buffer, signal: AbortSignal) => Promise<object>;
}

/**
 * The HTTP side of the client port: etcd's /health, /livez, /readyz, /version, /metrics,
 * and the JSON gateway (POST /v3/...), which decodes JSON to the same protobuf the gRPC
 * clients send and calls the same handlers.
 */
export function createHttpApi(
  server: EtcdServer,
  kv: KvHandlers,
  metrics: ServerMetrics,
  maxRequestBytes: number,
  leases: LeaseHandlers = new LeaseHandlers(server),
  recipes: RecipeHandlers = recipeHandlers(server, leases),
) {
  const grpcLimit = maxRequestBytes + GRPC_OVERHEAD_BYTES;
  const kvDef = serviceDefinition("etcdserverpb", "KV");
  const leaseDef = serviceDefinition("etcdserverpb", "Lease");
  const lockDef = serviceDefinition("v3lockpb", "Lock");
  const electionDef = serviceDefinition("v3electionpb", "Election");
  const decode = deserializer(kvDef);
  const decodeLease = deserializer(leaseDef);
  const decodeLock = <T>(method: string) => (raw: Buffer) => deserializer(lockDef)(method)(raw) as T;
  const decodeElection = <T>(method: string) => (raw: Buffer) => deserializer(electionDef)(method)(raw) as T;
  const withRaw = <T>(method: string, f: (r: { raw: Buffer; msg: T }) => Promise<object>) => (raw: Buffer) => f({ raw, msg: decode(method)(raw) as T });
  const route = (req: string, res: string, handle: Route["handle"]): Route => ({
    request: new GatewayRequestDecoder(req.includes(".") ? req : `etcdserverpb.${req}`, grpcLimit),
    response: new GatewayCodec(res.includes(".") ? res : `etcdserverpb.${res}`),
    handle,
  });
  const { lock, election } = recipes;
  const routes: Record<string, Route> = {
    "/v3/kv/range": route("RangeRequest", "RangeResponse", (raw) => kv.range(decode("Range")(raw) as never)),
    "/v3/kv/put": route("PutRequest", "PutResponse", withRaw("Put", (r) => kv.put(r as never))),
    "/v3/kv/deleterange": route("DeleteRangeRequest", "DeleteRangeResponse", withRaw("DeleteRange", (r) => kv.deleteRange(r as never))),
    "/v3/kv/txn": route("TxnRequest", "TxnResponse", withRaw("Txn", (r) => kv.txn(r as never))),
    "/v3/kv/compaction": route("CompactionRequest", "CompactionResponse", withRaw("Compact", (r) => kv.compact(r as never))),
    "/v3/lease/grant": route("LeaseGrantRequest", "LeaseGrantResponse", (raw) => leases.grant(decodeLease("LeaseGrant")(raw) as never)),
    "/v3/lease/revoke": route("LeaseRevokeRequest", "LeaseRevokeResponse", (raw) => leases.revoke(decodeLease("LeaseRevoke")(raw) as never)),
    "/v3/lease/timetolive": route("LeaseTimeToLiveRequest", "LeaseTimeToLiveResponse", (raw) => leases.timeToLive(decodeLease("LeaseTimeToLive")(raw) as never)),
    "/v3/lease/leases": route("LeaseLeasesRequest", "LeaseLeasesResponse", () => leases.leases()),
    "/v3/lock/lock": route("v3lockpb.LockRequest", "v3lockpb.LockResponse", (raw, signal) => lock.lock(decodeLock<WireLockRequest>("Lock")(raw), signal)),
    "/v3/lock/unlock": route("v3lockpb.UnlockRequest", "v3lockpb.UnlockResponse", (raw) => lock.unlock(decodeLock<{ key: Buffer }>("Unlock")(raw))),
    "/v3/election/campaign": route("v3electionpb.CampaignRequest", "v3electionpb.CampaignResponse", (raw, signal) =>
      election.campaign(decodeElection<{ name: Buffer; lease: string; value: Buffer }>("Campaign")(raw), signal),
    ),
    "/v3/election/proclaim": route("v3electionpb.ProclaimRequest", "v3electionpb.ProclaimResponse", (raw) =>
      election.proclaim(decodeElection<{ leader: WireLeaderKey | null; value: Buffer }>("Proclaim")(raw)),
    ),
    "/v3/election/leader": route("v3electionpb.LeaderRequest", "v3electionpb.LeaderResponse", (raw) => election.leader(decodeElection<{ name: Buffer }>("Leader")(raw))),
    "/v3/election/resign": route("v3electionpb.ResignRequest", "v3electionpb.ResignResponse", (raw) =>
      election.resign(decodeElection<{ leader: WireLeaderKey | null }>("Resign")(raw)),
    ),
  };
  // etcd's older paths for the same lease calls
  routes["/v3/kv/lease/revoke"] = routes["/v3/lease/revoke"]!;
  routes["/v3/kv/lease/timetolive"] = routes["/v3/lease/timetolive"]!;
  routes["/v3/kv/lease/leases"] = routes["/v3/lease/leases"]!;

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    try {
      if (path === "/health" || path === "/readyz") return await health(path, server, res);
      if (path === "/livez") return text(res, 200, "ok");
      if (path === "/version") return json(res, 200, { etcdserver: API_VERSION, etcdcluster: CLUSTER_VERSION, "etcd-ts": ETCD_TS_VERSION });
      if (path === "/metrics") {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
        return;
      }
      if (req.method === "POST" && path === "/v3/watch") return watchOverHttp(server, req, res, { maxRequestBytes });
      if (req.method === "POST" && path === "/v3/lease/keepalive") return keepAliveOverHttp(leases, req, res, maxRequestBytes);
      if (req.method === "POST" && path === "/v3/election/observe") return observeOverHttp(election, req, res, maxRequestBytes);
      const r = routes[path];
      if (!r) return text(res, 404, "404 page not found\n");
      if (req.method !== "POST") return gatewayError(res, new EtcdError(GrpcCode.Unimplemented, "Method Not Allowed"), 405);
      const decoded = r.request.decode(await readFirstValue(req, maxJsonBytes(grpcLimit), r.request.isKnownKey));
      discardRest(req, res);
      if (!decoded.ok) return refuse(req, res, decoded);
      const raw = decoded.raw;
      // the caller's context: a Lock or Campaign whose client went away stops waiting and cleans up
      const ac = new AbortController();
      res.once("close", () => ac.abort());
      json(res, 200, r.response.toJson(await r.handle(raw, ac.signal)));
    } catch (e) {
      gatewayError(res, toApiError(e));
    }
  };
}

/**
 * The gRPC method's own request decoder (the gateway is a client of the same handlers). Should it
 * refuse the bytes, the answer is what the gRPC server answers then: Internal, "Error deserializing request".
 */
function deserializer(def: ServiceDefinition) {
  return (method: string) =>
    (raw: Buffer): unknown => {
      try {
        return def[method]!.requestDeserialize(raw);
      } catch {
        throw new EtcdError(GrpcCode.Internal, UNDECODABLE);
      }
    };
}

async function health(path: string, server: EtcdServer, res: ServerResponse): Promise<void> {
  const h = await server.health();
  if (path === "/readyz") return text(res, h.health ? 200 : 503, h.health ? "ok" : `[-]${h.reason}\nreadyz check failed`);
  json(res, h.health ? 200 : 503, { health: String(h.health), reason: h.reason });
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(body);
}
