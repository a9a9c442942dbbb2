import type { IncomingMessage, ServerResponse } from "node:http";
import type { MaintenanceService } from "../../etcdserver/requests/services.js";
import { serverStreamOverHttp } from "./gateway-server-stream.js";
import { unimplemented, type MaintenanceExtras } from "./gateway-admin-routes.js";

/**
 * POST /v3/maintenance/snapshot: a SnapshotRequest in the body, then a `{"result": ...}` line per
 * SnapshotResponse chunk (blob in base64), as grpc-gateway streams a server stream.
 */
export function snapshotOverHttp(m: MaintenanceService & MaintenanceExtras, req: IncomingMessage, res: ServerResponse, maxRequestBytes: number): Promise<void> {
  const types = { request: "etcdserverpb.SnapshotRequest", response: "etcdserverpb.SnapshotResponse" };
  return serverStreamOverHttp(req, res, maxRequestBytes, types, (ctx) => {
    // grpc-gateway learns of the failure at the stream's first receive: the error chunk, with its HTTP status
    if (!m.snapshot) throw unimplemented("Snapshot");
    return m.snapshot(ctx, {});
  });
}
