import type { IncomingMessage, ServerResponse } from "node:http";
import { EtcdError, GrpcCode } from "../../pb/errors.js";
import type { GatewayRequest } from "./gateway-request.js";
import { goJsonStringify } from "./go-strings.js";
import { httpStatusOf } from "./status-codes.js";

/** grpc-gateway's error body (jsonpb leaves out an empty message, as it does every zero value). */
export function errorBody(e: EtcdError): Record<string, unknown> {
  return e.message === "" ? { code: e.code } : { error: e.message, message: e.message, code: e.code };
}

/** grpc-gateway's answer to a failed call: the error body, with the HTTP status of its gRPC code. */
export function gatewayError(res: ServerResponse, e: EtcdError, status?: number): void {
  writeJson(res, status ?? httpStatusOf(e.code), errorBody(e));
}

/** A JSON answer, written as Go's encoding/json writes it. */
export function writeJson(res: ServerResponse, status: number, body: unknown): void {
  const s = goJsonStringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(s) });
  res.end(s);
}

/**
 * A request the gateway does not pass on: etcd's answer (InvalidArgument for a bad body,
 * ResourceExhausted for one over the gRPC limit), or no answer at all where etcd's gateway panics.
 */
export function refuse(req: IncomingMessage, res: ServerResponse, r: Exclude<GatewayRequest, { ok: true }>): void {
  if (r.kind === "dropped") {
    req.socket.destroy();
    return;
  }
  gatewayError(res, refusal(r));
}

/** The gRPC status a refused request stands for. */
export function refusal(r: Exclude<GatewayRequest, { ok: true } | { kind: "dropped" }>): EtcdError {
  const code = r.kind === "too-large" ? GrpcCode.ResourceExhausted : r.kind === "undecodable" ? GrpcCode.Internal : GrpcCode.InvalidArgument;
  return new EtcdError(code, r.message);
}
