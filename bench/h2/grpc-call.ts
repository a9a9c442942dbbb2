/**
 * gRPC's unary call (the PROTOCOL-HTTP2 spec) on a stream of bench/h2/session.ts: response headers, one
 * length-prefixed message, trailers (or a trailers-only answer); the status from `grpc-status` and
 * `grpc-message`, else from the HTTP status or the RST_STREAM code as gRPC's own clients map them.
 * Failures are GrpcCallError values with `code` and `details`, the shape bench/etcd-client.ts's errorKind and
 * isTimeout read from grpc-js errors, so that both clients' errors count the same way.
 */
import { status as Code } from "@grpc/grpc-js";
import { H2Error } from "./frames.js";
import type { HeaderDecoder, HeaderFields } from "./hpack.js";
import type { StreamHandler } from "./session.js";

export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${Code[code] ?? ""}: ${details}`);
  }
}

/** gRPC's http-grpc-status-mapping: the code of an answer without grpc-status. */
export function codeOfHttpStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return Code.INTERNAL;
    case 401:
      return Code.UNAUTHENTICATED;
    case 403:
      return Code.PERMISSION_DENIED;
    case 404:
      return Code.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.UNAVAILABLE;
    default:
      return Code.UNKNOWN;
  }
}

/** The code of a stream the server reset, as grpc-js maps it. */
export function codeOfReset(h2code: number): number {
  if (h2code === H2Error.REFUSED_STREAM) return Code.UNAVAILABLE;
  if (h2code === H2Error.CANCEL) return Code.CANCELLED;
  if (h2code === 0xb /* ENHANCE_YOUR_CALM */) return Code.RESOURCE_EXHAUSTED;
  if (h2code === 0xc /* INADEQUATE_SECURITY */) return Code.PERMISSION_DENIED;
  return Code.INTERNAL;
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The status carried by a trailer block (or by the headers of a trailers-only answer). */
export function statusOf(headers: HeaderFields, trailers: HeaderFields): GrpcCallError | null {
  const http = Number(headers[":status"]);
  const grpcStatus = trailers["grpc-status"];
  if (grpcStatus === undefined) {
    if (http !== 200) return new GrpcCallError(codeOfHttpStatus(http), `Received HTTP status code ${http}`);
    return new GrpcCallError(Code.UNKNOWN, "no grpc-status in the trailers");
  }
  const code = Number(grpcStatus);
  if (!Number.isInteger(code) || code < 0 || code > 16) return new GrpcCallError(Code.UNKNOWN, `invalid grpc-status "${grpcStatus}"`);
  if (code === Code.OK) return null;
  return new GrpcCallError(code, percentDecode(trailers["grpc-message"] ?? ""));
}

export type CallCallback = (err: GrpcCallError | null, message: Buffer | null) => void;

/** One unary call's stream: collects the answer and calls back once. */
export class UnaryCall implements StreamHandler {
  private headers: HeaderFields | null = null;
  private chunks: Buffer[] = [];
  private bytes = 0;
  settled = false;
  /** Set by the channel: when the call must have ended (epoch ms). */
  deadline = 0;
  /** Set by the channel: the session the call's stream is on, to cancel it at its deadline. */
  session: { cancel(h: StreamHandler): void } | null = null;

  constructor(
    private readonly decoder: HeaderDecoder,
    private readonly cb: CallCallback,
  ) {}

  onHeaders(block: Buffer, endStream: boolean): void {
    // A block that does not decode breaks the connection's HPACK state: HpackError propagates to the session.
    const h = this.decoder.decode(block);
    if (this.settled) return;
    if (this.headers === null) {
      this.headers = h;
      if (endStream) this.complete(h);
    } else if (endStream) this.complete(h);
    else this.settle(new GrpcCallError(Code.INTERNAL, "a third header block without END_STREAM"), null);
  }

  onData(data: Buffer, endStream: boolean): void {
    if (this.settled) return;
    if (data.length) {
      this.chunks.push(Buffer.from(data));
      this.bytes += data.length;
    }
    if (endStream) this.settle(new GrpcCallError(Code.INTERNAL, "stream ended without trailers"), null);
  }

  onReset(code: number): void {
    this.settle(new GrpcCallError(codeOfReset(code), `Received RST_STREAM with code ${code}`), null);
  }

  onClosed(reason: string): void {
    this.settle(new GrpcCallError(Code.UNAVAILABLE, reason), null);
  }

  settle(err: GrpcCallError | null, message: Buffer | null): void {
    if (this.settled) return;
    this.settled = true;
    this.chunks = [];
    this.cb(err, message);
  }

  private complete(trailers: HeaderFields): void {
    const err = statusOf(this.headers!, trailers);
    if (err) return this.settle(err, null);
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
    if (body.length < 5) return this.settle(new GrpcCallError(Code.UNIMPLEMENTED, "No message received"), null);
    if (body[0] !== 0) return this.settle(new GrpcCallError(Code.INTERNAL, "compressed message received without asking for compression"), null);
    const len = body.readUInt32BE(1);
    if (body.length !== 5 + len) return this.settle(new GrpcCallError(Code.INTERNAL, `message of ${body.length - 5} bytes where the prefix says ${len} (or several messages)`), null);
    this.settle(null, body.subarray(5));
  }
}

/**
 * Deadlines of the calls in flight on a channel: a set of them swept every `periodMs` (a tenth of the timeout,
 * at most 100 ms). A call leaves the set when it ends, so nothing outlives its answer (a queue ordered by
 * deadline would keep every call for the whole timeout, and the garbage collector would pay for it).
 */
export class DeadlineSweep {
  private readonly inFlight = new Set<UnaryCall>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly periodMs: number,
    private readonly onExpired: (c: UnaryCall) => void,
  ) {}

  add(c: UnaryCall): void {
    this.inFlight.add(c);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.periodMs);
      this.timer.unref();
    }
  }

  delete(c: UnaryCall): void {
    this.inFlight.delete(c);
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.inFlight) {
      if (c.settled) this.inFlight.delete(c);
      else if (c.deadline <= now) {
        this.inFlight.delete(c);
        this.onExpired(c);
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.inFlight.clear();
  }
}
