/**
 * A gRPC unary call over plain HTTP/2 that reports exactly what the *server* answered. A gRPC
 * client library gives up at its own deadline and reports a DEADLINE_EXCEEDED it made itself; this
 * one sends the `grpc-timeout` header like any client but keeps listening for `patienceMs` longer,
 * so a test can tell etcd's answer (e.g. Unavailable "etcdserver: request timed out") from a
 * DEADLINE_EXCEEDED or CANCELLED written by the server's gRPC layer, which clientv3 would retry.
 */
import { connect, constants } from "node:http2";
import { serviceDefinition } from "../../server/pb/grpc-services.js";

export interface ServerAnswer {
  /** grpc-status from the trailers (or the trailers-only response); undefined if none came. */
  readonly code: number | undefined;
  readonly message: string;
  /** The decoded response message when the status is OK. */
  readonly response?: unknown;
  /** Milliseconds from sending to the status (or to giving up). */
  readonly afterMs: number;
  /** True if the server reset the stream or closed the connection without a status. */
  readonly reset: boolean;
}

/** Calls `pkg.service/method` on `endpoint` (host:port) with the given deadline, and waits up to deadline + patience. */
export function rawUnary(
  endpoint: string,
  target: { pkg?: string; service: string; method: string },
  request: object,
  o: {
    /** Sent as grpc-timeout; Infinity sends none. */
    deadlineMs: number;
    /** How long after the deadline to keep listening (default 2 s). */
    patienceMs?: number;
    /** Reset the stream (RST_STREAM CANCEL, as a client that gives up) after this long, if unanswered. */
    abandonAfterMs?: number;
  },
): Promise<ServerAnswer> {
  const def = serviceDefinition(target.pkg ?? "etcdserverpb", target.service)[target.method];
  if (!def) throw new Error(`no method ${target.service}.${target.method}`);
  const body = def.requestSerialize(request);
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  const session = connect(`http://${endpoint}`);
  session.on("error", () => undefined);
  const t0 = performance.now();
  return new Promise<ServerAnswer>((resolve) => {
    let code: number | undefined;
    let message = "";
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (reset: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(giveUp);
      const data = Buffer.concat(chunks);
      const response = code === 0 && data.length >= 5 ? def.responseDeserialize(data.subarray(5, 5 + data.readUInt32BE(1))) : undefined;
      resolve({ code, message, response, afterMs: performance.now() - t0, reset });
      session.destroy();
    };
    const waitMs = o.abandonAfterMs ?? o.deadlineMs + (o.patienceMs ?? 2000);
    const giveUp = setTimeout(() => {
      req.close(constants.NGHTTP2_CANCEL);
      finish(true);
    }, waitMs);
    const readStatus = (h: Record<string, unknown>) => {
      if (h["grpc-status"] === undefined) return;
      code = Number(h["grpc-status"]);
      message = decodeURIComponent(String(h["grpc-message"] ?? ""));
    };
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: def.path,
      "content-type": "application/grpc",
      te: "trailers",
      ...(Number.isFinite(o.deadlineMs) ? { "grpc-timeout": `${Math.max(1, Math.round(o.deadlineMs))}m` } : {}),
    });
    req.on("response", readStatus);
    req.on("trailers", readStatus);
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("close", () => finish(code === undefined));
    req.on("error", () => finish(true));
    req.end(frame);
  });
}
