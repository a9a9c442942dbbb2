/**
 * The JSON gateway's streaming routes, as etcd's grpc-gateway serves them: the request body is a
 * sequence of JSON request objects; each response is written as one line `{"result": {...}}`;
 * an error ends the stream with `{"error": {...}}`.
 * - POST /v3/watch: create/cancel/progress requests; responses stream until the client disconnects.
 * - POST /v3/lease/keepalive: one response per request; the response ends after the body does.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EtcdServer } from "../../etcdserver/server.js";
import { EtcdError, GrpcCode } from "../../pb/errors.js";
import type { LeaseHandlers } from "../grpc/lease-service.js";
import { WatchSession, type WireWatchRequest, type WatchSessionOptions } from "../grpc/watch-service.js";
import { serviceDefinition } from "../proto/load.js";
import { GatewayCodec } from "./json-codec.js";
import { httpStatusOf } from "./status-codes.js";
import { STATUS_CODES } from "node:http";

/** Splits a byte stream of concatenated JSON values (objects) into their texts. */
export class JsonObjectSplitter {
  private buf = "";
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;

  /** The values completed by `chunk`, and the syntax error that stopped the scan if any (values before it are kept). */
  push(chunk: string): { values: string[]; error?: string } {
    this.buf += chunk;
    const out: string[] = [];
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === "\\") this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === "{" || c === "[") {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (c === "}" || c === "]") {
        this.depth--;
        if (this.depth === 0 && this.start >= 0) {
          out.push(this.buf.slice(this.start, i + 1));
          this.start = -1;
        }
        if (this.depth < 0) return { values: out, error: `invalid character '${c}' looking for beginning of value` };
      } else if (this.depth === 0 && !/\s/.test(c)) {
        return { values: out, error: `invalid character '${c}' looking for beginning of value` };
      }
    }
    if (this.depth === 0) {
      this.buf = "";
      this.scanned = 0;
    } else {
      this.buf = this.buf.slice(this.start);
      this.start = 0;
      this.scanned = this.buf.length;
    }
    return { values: out };
  }

  /** Whether a value was left unfinished. */
  pending(): boolean {
    return this.depth > 0;
  }
}

const watchDef = serviceDefinition("etcdserverpb", "Watch");
const leaseDef = serviceDefinition("etcdserverpb", "Lease");

/**
 * The gateway's request side of a stream: the body is decoded one JSON object at a time. A bad
 * first object fails the whole call (HTTP 500, the gateway's error body with code 2, as etcd);
 * a bad later one just ends the requests (etcd's gateway logs it and closes its send side).
 */
class RequestReader {
  private readonly splitter = new JsonObjectSplitter();
  private seen = 0;
  private stopped = false;

  constructor(
    private readonly codec: GatewayCodec,
    private readonly onRequest: (raw: Buffer) => void,
    private readonly onFirstError: (message: string) => void,
    private readonly onEnd: () => void,
  ) {}

  attach(req: IncomingMessage): void {
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => this.push(chunk));
    req.on("end", () => this.finish());
  }

  private push(chunk: string): void {
    if (this.stopped) return;
    const { values, error } = this.splitter.push(chunk);
    for (const text of values) {
      let raw: Buffer;
      try {
        const json: unknown = JSON.parse(text);
        if (Array.isArray(json)) throw new Error("json: cannot unmarshal array into Go value of type map[string]json.RawMessage");
        raw = this.codec.encodeJson(json);
      } catch (e) {
        this.fail((e as Error).message);
        return;
      }
      this.seen++;
      this.onRequest(raw);
    }
    if (error !== undefined) this.fail(error);
  }

  private fail(message: string): void {
    this.stopped = true;
    if (this.seen === 0) this.onFirstError(message);
    else this.onEnd();
  }

  private finish(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.onEnd();
  }
}

/** A streaming response: headers go out with the first line (as the gateway's). */
export class LineWriter {
  private started = false;
  constructor(private readonly res: ServerResponse) {}
  line(o: unknown): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    if (!this.started) {
      this.res.writeHead(200, { "content-type": "application/json" });
      this.started = true;
    }
    this.res.write(JSON.stringify(o) + "\n");
  }
  /** An error before anything was sent: the gateway's plain error response. */
  failEarly(message: string): void {
    if (this.started) return this.end({ error: streamError(new EtcdError(GrpcCode.Unknown, message)) });
    const body = JSON.stringify({ error: message, message, code: GrpcCode.Unknown });
    this.res.writeHead(500, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    this.res.end(body);
  }
  end(last?: unknown): void {
    if (this.res.writableEnded) return;
    if (last !== undefined) this.line(last);
    if (!this.started) this.res.writeHead(200, { "content-type": "application/json" });
    this.res.end();
  }
}

/** grpc-gateway's error object for a stream that fails after it started. */
export function streamError(e: unknown) {
  const err = e instanceof EtcdError ? e : new EtcdError(GrpcCode.Unknown, (e as Error).message);
  const http = httpStatusOf(err.code);
  return { grpc_code: err.code, http_code: http, message: err.message, http_status: STATUS_CODES[http] ?? "" };
}

/** POST /v3/watch: responses stream until the client goes away (the body ending does not end the watch). */
export function watchOverHttp(server: EtcdServer, req: IncomingMessage, res: ServerResponse, opts: WatchSessionOptions): void {
  const resCodec = new GatewayCodec("etcdserverpb.WatchResponse");
  const out = new LineWriter(res);
  const session = new WatchSession(server, { write: (r) => out.line({ result: resCodec.toJson(r) }), writable: () => res.writableLength < 1 << 20 }, opts);
  new RequestReader(
    new GatewayCodec("etcdserverpb.WatchRequest"),
    (raw) => session.handle(watchDef.Watch!.requestDeserialize(raw) as WireWatchRequest),
    (message) => {
      out.failEarly(message);
      session.close();
    },
    () => undefined,
  ).attach(req);
  res.on("drain", () => session.drained());
  res.on("close", () => session.close());
  req.on("error", () => session.close());
}

/** POST /v3/lease/keepalive: one response line per request, in order; the response ends after the body. */
export function keepAliveOverHttp(leases: LeaseHandlers, req: IncomingMessage, res: ServerResponse): void {
  const resCodec = new GatewayCodec("etcdserverpb.LeaseKeepAliveResponse");
  const out = new LineWriter(res);
  let chain: Promise<void> = Promise.resolve();
  let failed = false;
  new RequestReader(
    new GatewayCodec("etcdserverpb.LeaseKeepAliveRequest"),
    (raw) => {
      chain = chain.then(async () => {
        if (failed) return;
        try {
          const r = await leases.keepAlive(leaseDef.LeaseKeepAlive!.requestDeserialize(raw) as { ID: string });
          out.line({ result: resCodec.toJson(r) });
        } catch (e) {
          failed = true;
          out.end({ error: streamError(e) });
        }
      });
    },
    (message) => out.failEarly(message),
    () => void chain.then(() => out.end()),
  ).attach(req);
}
