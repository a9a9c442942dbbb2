import type { IncomingMessage, ServerResponse } from "node:http";
import type { MaintenanceService } from "../../etcdserver/requests/services.js";
import { requestContext } from "../../etcdserver/requests/context.js";
import { LineWriter } from "./gateway-streams.js";
import { GatewayCodec } from "./json-codec.js";
import { discardRest, readFirstValue } from "./read-body.js";
import { GatewayRequestDecoder, GRPC_OVERHEAD_BYTES, maxJsonBytes } from "./gateway-request.js";
import { refuse } from "./gateway-refuse.js";
import { unimplemented, type MaintenanceExtras } from "./gateway-admin-routes.js";

/**
 * POST /v3/maintenance/snapshot: a SnapshotRequest in the body, then a `{"result": ...}` line per
 * SnapshotResponse chunk (blob in base64), as grpc-gateway streams a server stream.
 */
export async function snapshotOverHttp(m: MaintenanceService & MaintenanceExtras, req: IncomingMessage, res: ServerResponse, maxRequestBytes: number): Promise<void> {
  const grpcLimit = maxRequestBytes + GRPC_OVERHEAD_BYTES;
  const reqDecoder = new GatewayRequestDecoder("etcdserverpb.SnapshotRequest", grpcLimit);
  const resCodec = new GatewayCodec("etcdserverpb.SnapshotResponse");
  const ac = new AbortController();
  res.once("close", () => ac.abort());
  const decoded = reqDecoder.decode(await readFirstValue(req, maxJsonBytes(grpcLimit), reqDecoder.isKnownKey));
  discardRest(req, res);
  if (!decoded.ok) return refuse(req, res, decoded);
  const out = new LineWriter(res);
  try {
    // grpc-gateway learns of the failure at the stream's first receive: the error chunk, with its HTTP status
    if (!m.snapshot) throw unimplemented("Snapshot");
    for await (const chunk of m.snapshot(requestContext(ac.signal), {})) out.line({ result: resCodec.toJson(chunk) });
    out.end();
  } catch (e) {
    out.fail(e);
  }
}
