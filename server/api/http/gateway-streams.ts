/**
 * The JSON gateway's streaming routes, as etcd's grpc-gateway serves them: the request body is a
 * sequence of JSON request objects; each response is written as one line `{"result": {...}}`;
 * an error ends the stream with `{"error": {...}}` (no newline after it, as grpc-gateway writes it).
 * - POST /v3/watch: create/cancel/progress requests; responses stream until the client disconnects.
 * - POST /v3/lease/keepalive: one response per request; the response ends after the body does.
 *
 * The body is framed incrementally (go-json-stream.ts): linear in its length, with at most one
 * request's JSON in memory, never more than maxJsonBytes of it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import { EtcdError, GrpcCode } from "../../pb/errors.js";
import { toApiError } from "../../etcdserver/requests/api-errors.js";
import type { LeaseService, WatchService } from "../../etcdserver/requests/services.js";
import type { WireWatchRequest } from "../../etcdserver/requests/watch-session.js";
import { requestContext } from "../../etcdserver/requests/context.js";
import { messageCodec } from "../../pb/proto.js";
import { errorBody, refusal } from "./gateway-refuse.js";
import { GatewayRequestDecoder, GRPC_OVERHEAD_BYTES, maxJsonBytes, type GatewayRequest } from "./gateway-request.js";
import { GoJsonDecoder, type FrameEvent } from "./go-json-stream.js";
import { goJsonStringify } from "./go-strings.js";
import { GatewayCodec } from "./json-codec.js";
import { httpStatusOf } from "./status-codes.js";
import { discardRest } from "./read-body.js";
import { gatewayCredentials } from "./gateway-credentials.js";

const watchRequest = messageCodec<WireWatchRequest>("etcdserverpb.WatchRequest");
const keepAliveRequest = messageCodec<{ ID: string }>("etcdserverpb.LeaseKeepAliveRequest");

/** A streaming request's context: it ends when the client goes away. */
function responseContext(req: IncomingMessage, res: ServerResponse) {
  const ac = new AbortController();
  res.once("close", () => ac.abort());
  return requestContext(ac.signal, gatewayCredentials(req));
}

/** What happens to the requests of a stream (etcd's gateway: its send loop into the gRPC stream). */
export interface StreamRequestSink {
  /** The next request, in order. */
  request(raw: Buffer): void;
  /** The first value was bad: the call fails before it starts (HTTP 500, code Unknown, as etcd). */
  failCall(message: string): void;
  /** The gRPC stream fails (a request over the server's limit): ResourceExhausted ends the response. */
  failStream(e: EtcdError): void;
  /** No more requests: the body ended, or a later value was bad (etcd's gateway then just stops sending). */
  end(): void;
}

/**
 * The request side of a stream: frames the body, decodes each value, hands requests to `sink`
 * in order. `pause()`/`resume()` let the sink hold the body back while it catches up.
 */
export class StreamRequestReader {
  private readonly framer: GoJsonDecoder;
  private readonly decoder: GatewayRequestDecoder;
  private seen = 0;
  private stopped = false;
  private readonly onData = (chunk: Buffer) => this.onEvents(this.framer.push(chunk));
  private readonly onEnd = () => this.onEvents(this.framer.end());

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    typeName: string,
    maxRequestBytes: number,
    private readonly sink: StreamRequestSink,
  ) {
    const grpcLimit = maxRequestBytes + GRPC_OVERHEAD_BYTES;
    this.decoder = new GatewayRequestDecoder(typeName, grpcLimit);
    this.framer = new GoJsonDecoder(maxJsonBytes(grpcLimit), this.decoder.isKnownKey);
    req.on("data", this.onData);
    req.on("end", this.onEnd);
  }

  pause(): void {
    this.req.pause();
  }

  resume(): void {
    if (!this.stopped) this.req.resume();
  }

  private onEvents(events: FrameEvent[]): void {
    for (const ev of events) {
      if (this.stopped) return;
      if (ev.kind === "eof") {
        this.stop();
        this.sink.end();
        return;
      }
      this.onRequest(this.decoder.decode(ev));
    }
  }

  private onRequest(r: GatewayRequest): void {
    if (r.ok) {
      this.seen++;
      this.sink.request(r.raw);
      return;
    }
    this.stop();
    if (r.kind === "dropped") this.req.socket.destroy();
    else if (r.kind !== "invalid") this.sink.failStream(refusal(r));
    else if (this.seen === 0) this.sink.failCall(r.message);
    else this.sink.end();
  }

  /** No more requests are read; the rest of the body is dropped (as much as Go's server drops once the answer is done). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.req.off("data", this.onData);
    this.req.off("end", this.onEnd);
    this.req.pause();
    discardRest(this.req, this.res);
  }
}

/** A streaming response: headers go out with the first line (as the gateway's). */
export class LineWriter {
  private started = false;
  constructor(private readonly res: ServerResponse) {}

  line(o: unknown): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    this.start(200);
    this.res.write(goJsonStringify(o) + "\n");
  }

  /** The call failed before it started: the gateway's plain error response (code Unknown, HTTP 500). */
  failEarly(message: string): void {
    if (this.started) return this.fail(new EtcdError(GrpcCode.Unknown, message));
    const body = goJsonStringify(errorBody(new EtcdError(GrpcCode.Unknown, message)));
    this.res.writeHead(500, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    this.res.end(body);
  }

  /** The stream failed: its error chunk ends the response; before any result, with the error's HTTP status. */
  fail(e: unknown): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    const chunk = { error: streamError(e) };
    this.start(chunk.error.http_code);
    this.res.end(goJsonStringify(chunk));
  }

  end(): void {
    if (this.res.writableEnded) return;
    this.start(200);
    this.res.end();
  }

  private start(status: number): void {
    if (this.started) return;
    this.res.writeHead(status, { "content-type": "application/json" });
    this.started = true;
  }
}

/** grpc-gateway's error object for a stream that fails after it started. */
export function streamError(e: unknown) {
  const err = toApiError(e);
  const http = httpStatusOf(err.code);
  return { grpc_code: err.code, http_code: http, message: err.message, http_status: STATUS_CODES[http] ?? "" };
}

/** POST /v3/watch: responses stream until the client goes away (the body ending does not end the watch). */
export function watchOverHttp(watch: WatchService, req: IncomingMessage, res: ServerResponse, maxRequestBytes: number): void {
  const resCodec = new GatewayCodec("etcdserverpb.WatchResponse");
  const out = new LineWriter(res);
  const session = watch.session(responseContext(req, res), { write: (r) => out.line({ result: resCodec.toJson(r) }), writable: () => res.writableLength < 1 << 20 });
  new StreamRequestReader(req, res, "etcdserverpb.WatchRequest", maxRequestBytes, {
    request: (raw) => session.handle(watchRequest.decode(raw)),
    failCall: (message) => {
      session.close();
      out.failEarly(message);
    },
    failStream: (e) => {
      session.close();
      out.fail(e);
    },
    end: () => undefined,
  });
  res.on("drain", () => session.drained());
  res.on("close", () => session.close());
  req.on("error", () => session.close());
}

/** Keep-alives waiting for their answer before the body is held back. */
const MAX_PENDING_KEEPALIVES = 1024;

/** POST /v3/lease/keepalive: one response line per request, in order; the response ends after the body. */
export function keepAliveOverHttp(leases: LeaseService, req: IncomingMessage, res: ServerResponse, maxRequestBytes: number): void {
  const resCodec = new GatewayCodec("etcdserverpb.LeaseKeepAliveResponse");
  const ctx = responseContext(req, res);
  const out = new LineWriter(res);
  let chain: Promise<void> = Promise.resolve();
  let pending = 0;
  let failed = false;
  const backedUp = () => pending >= MAX_PENDING_KEEPALIVES || res.writableLength >= 1 << 20;
  const reader: StreamRequestReader = new StreamRequestReader(req, res, "etcdserverpb.LeaseKeepAliveRequest", maxRequestBytes, {
    request: (raw) => {
      pending++;
      if (backedUp()) reader.pause();
      chain = chain.then(async () => {
        try {
          if (failed) return;
          const r = await leases.keepAlive(ctx, keepAliveRequest.decode(raw));
          out.line({ result: resCodec.toJson(r) });
        } catch (e) {
          failed = true;
          reader.stop();
          out.fail(e);
        } finally {
          pending--;
          if (!backedUp()) reader.resume();
        }
      });
    },
    failCall: (message) => out.failEarly(message),
    failStream: (e) =>
      void chain.then(() => {
        failed = true;
        out.fail(e);
      }),
    end: () => void chain.then(() => out.end()),
  });
  res.on("drain", () => {
    if (!backedUp()) reader.resume();
  });
}
