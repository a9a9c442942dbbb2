import type { IncomingHttpHeaders } from "node:http2";
import type { Duplex } from "node:stream";
import { H2Connection } from "./h2/connection.js";
import { ErrorCode } from "./h2/frames.js";
import type { H2Stream } from "./h2/stream.js";
import { encodingOf, MessageReader, type Encoding } from "./message-reader.js";
import { splitPath, type MethodSpec } from "./method.js";
import { ServerCall } from "./server-call.js";
import { SessionTimers, type SessionTimerOptions } from "./session-timers.js";
import { Code, type GrpcStatus } from "./status.js";
import { parseGrpcTimeout } from "./timeout.js";

export interface GrpcServerOptions extends SessionTimerOptions {
  /** Messages longer than this are refused (RESOURCE_EXHAUSTED) from their length prefix. */
  readonly maxReceiveBytes: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS sent to each client. */
  readonly maxConcurrentStreams: number;
}

/** A unary or server-stream method gets its one request; a client-stream or bidi method sets the call's listeners. */
export type UnaryHandler<Req, Res> = (call: ServerCall<Req, Res>, request: Req) => void;
export type StreamHandler<Req, Res> = (call: ServerCall<Req, Res>) => void;

interface Registered {
  readonly spec: MethodSpec<unknown, unknown>;
  readonly unary?: UnaryHandler<unknown, unknown>;
  readonly stream?: StreamHandler<unknown, unknown>;
}

/** grpc-go's check of content-type: application/grpc, optionally followed by "+subtype" or ";params". */
function isGrpcContentType(ct: unknown): boolean {
  if (typeof ct !== "string" || !ct.startsWith("application/grpc")) return false;
  const next = ct[16];
  return next === undefined || next === "+" || next === ";";
}

/**
 * A gRPC server on HTTP/2 connections of its own (h2/): the methods registered, the connections handed to it
 * (attach), and each connection's keepalive pings and idle limit. It speaks the gRPC HTTP/2 protocol as grpc-go's server does (the
 * peer etcd's clients know): its statuses and texts for unknown methods, oversized or undecodable messages and
 * missing requests, RST_STREAM for a request that is not gRPC, and no compression of responses (requests may be
 * gzip). What a call means is the handlers' business; this knows only messages and statuses.
 */
export class GrpcServer {
  private readonly methods = new Map<string, Registered>();
  private readonly services = new Set<string>();
  private readonly connections = new Set<H2Connection>();

  constructor(private readonly opts: GrpcServerOptions) {}

  unary<Req, Res>(spec: MethodSpec<Req, Res>, handler: UnaryHandler<Req, Res>): void {
    if (spec.kind !== "unary" && spec.kind !== "server_stream") throw new Error(`${spec.path} is a ${spec.kind} method`);
    this.add({ spec: spec as MethodSpec<unknown, unknown>, unary: handler as UnaryHandler<unknown, unknown> });
  }

  stream<Req, Res>(spec: MethodSpec<Req, Res>, handler: StreamHandler<Req, Res>): void {
    if (spec.kind !== "client_stream" && spec.kind !== "bidi_stream") throw new Error(`${spec.path} is a ${spec.kind} method`);
    this.add({ spec: spec as MethodSpec<unknown, unknown>, stream: handler as StreamHandler<unknown, unknown> });
  }

  /**
   * Serves a connection: `head` is what the client already sent on it (read by a listener that looked for the
   * preface), the rest is read from the connection. `follow` sees the HTTP/2 connection before any of it is read
   * (a listener's hooks: handshake, streams, keepalive policy). Returns that connection.
   */
  attach(socket: Duplex, head: Buffer = Buffer.alloc(0), follow?: (c: H2Connection) => void): H2Connection {
    const c: H2Connection = new H2Connection(socket, {
      maxConcurrentStreams: this.opts.maxConcurrentStreams,
      onStream: (stream, headers) => this.onStream(c, stream, headers),
    });
    const timers = new SessionTimers(c, this.opts);
    c.on("streamOpen", () => timers.streamOpened());
    c.on("streamClose", () => timers.streamClosed());
    c.on("close", () => {
      timers.stop();
      this.connections.delete(c);
    });
    this.connections.add(c);
    follow?.(c);
    c.feed(head);
    socket.resume();
    return c;
  }

  /** Closes every connection now. */
  destroy(): void {
    for (const c of [...this.connections]) c.destroy();
    this.connections.clear();
  }

  private add(r: Registered): void {
    const split = splitPath(r.spec.path);
    if (!split) throw new Error(`malformed method path ${r.spec.path}`);
    this.methods.set(r.spec.path, r);
    this.services.add(split.service);
  }

  private onStream(connection: H2Connection, stream: H2Stream, headers: IncomingHttpHeaders): void {
    let call: ServerCall<unknown, unknown> | undefined;
    stream.onClose = () => call?.cancel();
    const timeoutMs = parseGrpcTimeout(headers["grpc-timeout"] as string | undefined);
    // grpc-go resets a stream whose headers are not gRPC's (operateHeaders: decodeHeader's error)
    if (!isGrpcContentType(headers["content-type"]) || timeoutMs === null) return stream.reset(ErrorCode.PROTOCOL_ERROR);
    const path = (headers[":path"] as string | undefined) ?? "";
    const m = this.methods.get(path);
    if (!m) return this.refuse(connection, stream, headers, this.unknownMethod(path));
    const encoding = encodingOf(headers["grpc-encoding"] as string | undefined);
    if (typeof encoding !== "string") return this.refuse(connection, stream, headers, encoding);
    call = new ServerCall(m.spec, stream, headers, timeoutMs, connection);
    if (m.unary) this.runUnary(call, m.unary, encoding);
    else this.runStream(call, m.stream!, encoding);
  }

  private runUnary(call: ServerCall<unknown, unknown>, handler: UnaryHandler<unknown, unknown>, encoding: Encoding): void {
    const { stream } = call;
    let got = false;
    const reader = new MessageReader(
      this.opts.maxReceiveBytes,
      encoding,
      (bytes) => {
        if (got) return; // grpc-go reads one request of a unary call and no more
        got = true;
        const req = decode(call, bytes);
        if (req !== undefined) handler(call, req.value);
      },
      (s) => call.fail(s),
    );
    stream.onData = (chunk) => reader.push(chunk);
    stream.onEnd = () => {
      if (!got) call.fail({ code: Code.UNKNOWN, message: reader.holdsPart ? "unexpected EOF" : "EOF" });
    };
  }

  private runStream(call: ServerCall<unknown, unknown>, handler: StreamHandler<unknown, unknown>, encoding: Encoding): void {
    const { stream } = call;
    const reader = new MessageReader(
      this.opts.maxReceiveBytes,
      encoding,
      (bytes) => {
        const req = decode(call, bytes);
        if (req !== undefined && !call.done) call.onMessage?.(req.value);
      },
      (s) => call.fail(s),
    );
    let ended = false;
    const halfClose = (): void => {
      if (reader.holdsPart) call.fail({ code: Code.INTERNAL, message: "unexpected EOF" });
      else if (!call.done) call.onHalfClose?.();
    };
    // paused: the reader holds what it has and the stream stops (unread DATA keeps the client's window closed);
    // resumed: what the reader holds goes first, and the end of the stream only after it
    call.reading = {
      pause: () => {
        reader.pause();
        stream.pause();
      },
      resume: () => {
        reader.resume();
        if (call.isPaused || call.done) return;
        if (ended) halfClose();
        else stream.resume();
      },
    };
    handler(call);
    stream.onData = (chunk) => reader.push(chunk);
    stream.onEnd = () => {
      ended = true;
      if (!call.isPaused) halfClose();
    };
  }

  /** grpc-go's answer for a path it does not serve (server.go handleStream). */
  private unknownMethod(path: string): GrpcStatus {
    const split = splitPath(path);
    if (!split) return { code: Code.RESOURCE_EXHAUSTED, message: `malformed method name: "${path}"` };
    if (!this.services.has(split.service)) return { code: Code.UNIMPLEMENTED, message: `unknown service ${split.service}` };
    return { code: Code.UNIMPLEMENTED, message: `unknown method ${split.method} for service ${split.service}` };
  }

  /** A call answered with a status at once; what the client still sends is read and dropped. */
  private refuse(connection: H2Connection, stream: H2Stream, headers: IncomingHttpHeaders, s: GrpcStatus): void {
    new ServerCall<unknown, unknown>(REFUSED, stream, headers, undefined, connection).fail(s);
  }
}

const REFUSED: MethodSpec<unknown, unknown> = { path: "", kind: "unary", decode: () => undefined, encode: () => Buffer.alloc(0) };

/** The request, or undefined after failing the call with grpc-go's unmarshalling status. */
function decode(call: ServerCall<unknown, unknown>, bytes: Buffer): { value: unknown } | undefined {
  try {
    return { value: call.spec.decode(bytes) };
  } catch (e) {
    call.fail({ code: Code.INTERNAL, message: `grpc: error unmarshalling request: ${(e as Error).message}` });
    return undefined;
  }
}
