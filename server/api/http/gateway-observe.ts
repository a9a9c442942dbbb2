import type { IncomingMessage, ServerResponse } from "node:http";
import type { ElectionService } from "../../etcdserver/requests/services.js";
import { requestContext } from "../../etcdserver/requests/context.js";
import { gatewayCredentials } from "./gateway-credentials.js";
import { messageCodec } from "../../pb/proto.js";
import { LineWriter } from "./gateway-streams.js";
import { GatewayCodec } from "./json-codec.js";
import { discardRest, readFirstValue } from "./read-body.js";
import { GatewayRequestDecoder, GRPC_OVERHEAD_BYTES, maxJsonBytes } from "./gateway-request.js";
import { refuse } from "./gateway-refuse.js";

const leaderRequest = messageCodec<{ name: Buffer }>("v3electionpb.LeaderRequest");

/**
 * POST /v3/election/observe: one JSON LeaderRequest in the body (decoded as a unary request's);
 * a `{"result": ...}` line per leader change or proclamation until the client goes away (or the
 * observation ends, as etcd's does on a compacted revision).
 */
export async function observeOverHttp(election: ElectionService, req: IncomingMessage, res: ServerResponse, maxRequestBytes: number): Promise<void> {
  const grpcLimit = maxRequestBytes + GRPC_OVERHEAD_BYTES;
  const reqDecoder = new GatewayRequestDecoder("v3electionpb.LeaderRequest", grpcLimit);
  const resCodec = new GatewayCodec("v3electionpb.LeaderResponse");
  const ac = new AbortController();
  res.once("close", () => ac.abort());
  const decoded = reqDecoder.decode(await readFirstValue(req, maxJsonBytes(grpcLimit), reqDecoder.isKnownKey));
  discardRest(req, res);
  if (!decoded.ok) return refuse(req, res, decoded);
  const out = new LineWriter(res);
  try {
    for await (const r of election.observe(requestContext(ac.signal, gatewayCredentials(req)), leaderRequest.decode(decoded.raw))) {
      out.line({ result: resCodec.toJson(r) });
    }
    out.end();
  } catch (e) {
    out.fail(e);
  }
}
