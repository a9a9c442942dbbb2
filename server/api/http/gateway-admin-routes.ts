/**
 * The gateway's Cluster and Maintenance routes (etcd's rpc.proto HTTP annotations):
 * /v3/cluster/member/{add,remove,update,list,promote} and
 * /v3/maintenance/{alarm,status,defragment,hash,transfer-leadership} (snapshot is a stream:
 * gateway-snapshot.ts). Each calls the request layer's service, as the gRPC adapter does.
 */
import type { ClusterService, MaintenanceService } from "../../etcdserver/requests/services.js";
import type { RequestContext } from "../../etcdserver/requests/context.js";
import { EtcdError, GrpcCode } from "../../pb/errors.js";
import type { WireAlarmRequest } from "../../pb/raft-entry.js";
import type { Int64 } from "../../pb/wire.js";

/** A unary route's pieces: request type, response type, the call on the decoded request. */
export interface RouteSpec<T = never> {
  readonly req: string;
  readonly res: string;
  readonly call: (ctx: RequestContext, msg: T) => Promise<object>;
}

/**
 * Maintenance calls the other half of issue 14 adds to MaintenanceService (Defragment, Hash,
 * Snapshot). Until the service has them, the gateway answers what the gRPC server answers for a
 * method it does not implement, so both transports say the same thing.
 */
export interface MaintenanceExtras {
  defragment?(ctx: RequestContext, r: object): Promise<object>;
  hash?(ctx: RequestContext, r: object): Promise<object>;
  snapshot?(ctx: RequestContext, r: object): AsyncIterable<object>;
}

/** grpc-js' answer for a method the server does not implement. */
export function unimplemented(method: string): EtcdError {
  return new EtcdError(GrpcCode.Unimplemented, `The server does not implement the method /etcdserverpb.Maintenance/${method}`);
}

const spec = <T>(req: string, res: string, call: (ctx: RequestContext, msg: T) => Promise<object>): RouteSpec<never> => ({ req, res, call }) as unknown as RouteSpec<never>;

export function clusterRoutes(c: ClusterService): Record<string, RouteSpec> {
  return {
    "/v3/cluster/member/add": spec<{ peerURLs: string[]; isLearner: boolean }>("MemberAddRequest", "MemberAddResponse", (ctx, r) => c.memberAdd(ctx, r)),
    "/v3/cluster/member/remove": spec<{ ID: string }>("MemberRemoveRequest", "MemberRemoveResponse", (ctx, r) => c.memberRemove(ctx, r)),
    "/v3/cluster/member/update": spec<{ ID: string; peerURLs: string[] }>("MemberUpdateRequest", "MemberUpdateResponse", (ctx, r) => c.memberUpdate(ctx, r)),
    "/v3/cluster/member/list": spec("MemberListRequest", "MemberListResponse", (ctx) => c.memberList(ctx)),
    "/v3/cluster/member/promote": spec<{ ID: string }>("MemberPromoteRequest", "MemberPromoteResponse", (ctx, r) => c.memberPromote(ctx, r)),
  };
}

export function maintenanceRoutes(m: MaintenanceService & MaintenanceExtras): Record<string, RouteSpec> {
  return {
    "/v3/maintenance/alarm": spec<WireAlarmRequest>("AlarmRequest", "AlarmResponse", (ctx, r) => m.alarm(ctx, r)),
    "/v3/maintenance/status": spec("StatusRequest", "StatusResponse", (ctx) => m.status(ctx)),
    "/v3/maintenance/defragment": spec<object>("DefragmentRequest", "DefragmentResponse", async (ctx, r) => {
      if (!m.defragment) throw unimplemented("Defragment");
      return m.defragment(ctx, r);
    }),
    // rpc.proto gives Hash and HashKV the same path; etcd 3.4's gateway answers with Hash, the
    // first registered (test/e2e/gateway-routes-differential.test.ts): HashKV has no gateway route.
    "/v3/maintenance/hash": spec<object>("HashRequest", "HashResponse", async (ctx, r) => {
      if (!m.hash) throw unimplemented("Hash");
      return m.hash(ctx, r);
    }),
    "/v3/maintenance/transfer-leadership": spec<{ targetID: Int64 }>("MoveLeaderRequest", "MoveLeaderResponse", (ctx, r) => m.moveLeader(ctx, r)),
  };
}
