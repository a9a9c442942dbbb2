import type { IncomingMessage, ServerResponse } from "node:http";
import { requestContext, type RequestContext } from "../../etcdserver/requests/context.js";
import { gatewayCredentials } from "./gateway-credentials.js";
import { LineWriter } from "./gateway-streams.js";
import { GatewayCodec } from "./json-codec.js";
import { discardRest, readFirstValue } from "./read-body.js";
import { GatewayRequestDecoder, GRPC_OVERHEAD_BYTES, maxJsonBytes } from "./gateway-request.js";
import { refuse } from "./gateway-refuse.js";

/**
 * A gRPC server stream over the gateway, as grpc-gateway serves one: one JSON request in the body
 * (decoded as a unary request's), then a `{"result": ...}` line per response until the stream ends or
 * the client goes away; a failure is the error line, with its HTTP status when nothing was sent yet.
 * The caller's credentials (the Authorization header) go with the call, as for every other route.
 */
export async function serverStreamOverHttp(
  req: IncomingMessage,
  res: ServerResponse,
  maxRequestBytes: number,
  types: { readonly request: string; readonly response: string },
  call: (ctx: RequestContext, raw: Buffer) => AsyncIterable<object>,
): Promise<void> {
  const grpcLimit = maxRequestBytes + GRPC_OVERHEAD_BYTES;
  const reqDecoder = new GatewayRequestDecoder(types.request, grpcLimit);
  const resCodec = new GatewayCodec(types.response);
  const ac = new AbortController();
  res.once("close", () => ac.abort());
  const decoded = reqDecoder.decode(await readFirstValue(req, maxJsonBytes(grpcLimit), reqDecoder.isKnownKey));
  discardRest(req, res);
  if (!decoded.ok) return refuse(req, res, decoded);
  const out = new LineWriter(res);
  try {
    for await (const r of call(requestContext(ac.signal, gatewayCredentials(req)), decoded.raw)) out.line({ result: resCodec.toJson(r) });
    out.end();
  } catch (e) {
    out.fail(e);
  }
}
