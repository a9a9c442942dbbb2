import type { IncomingMessage, ServerResponse } from "node:http";
import { EtcdError, GrpcCode } from "../../pb/errors.js";
import type { ElectionHandlers } from "../grpc/election-service.js";
import { serviceDefinition } from "../proto/load.js";
import { LineWriter, streamError } from "./gateway-streams.js";
import { GatewayCodec } from "./json-codec.js";
import { httpStatusOf } from "./status-codes.js";
import { readBody } from "./read-body.js";
import { decodeGatewayJson } from "./go-json.js";

const electionDef = serviceDefinition("v3electionpb", "Election");

/**
 * POST /v3/election/observe: one JSON LeaderRequest in the body; a `{"result": ...}` line per leader
 * change or proclamation until the client goes away (or the observation ends, as etcd's does on a
 * compacted revision).
 */
export async function observeOverHttp(election: ElectionHandlers, req: IncomingMessage, res: ServerResponse, maxRequestBytes: number): Promise<void> {
  const reqCodec = new GatewayCodec("v3electionpb.LeaderRequest");
  const resCodec = new GatewayCodec("v3electionpb.LeaderResponse");
  const ac = new AbortController();
  res.once("close", () => ac.abort());
  let raw: Buffer;
  try {
    const body = await readBody(req, maxRequestBytes + 512 * 1024);
    const parsed = decodeGatewayJson(body.toString("utf8"));
    if (!parsed.ok) throw new SyntaxError(parsed.message);
    raw = reqCodec.encodeJson(parsed.value);
  } catch (e) {
    const err = e instanceof EtcdError ? e : new EtcdError(GrpcCode.InvalidArgument, (e as Error).message);
    const text = JSON.stringify({ error: err.message, message: err.message, code: err.code });
    res.writeHead(httpStatusOf(err.code), { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  const out = new LineWriter(res);
  try {
    for await (const r of election.observe(electionDef.Observe!.requestDeserialize(raw) as { name: Buffer }, ac.signal)) {
      out.line({ result: resCodec.toJson(r) });
    }
    out.end();
  } catch (e) {
    out.end({ error: streamError(e) });
  }
}
