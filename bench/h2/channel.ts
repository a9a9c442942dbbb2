/**
 * A gRPC channel to one endpoint for the load generator: one HTTP/2 connection (bench/h2/session.ts), opened
 * on first use and again after it went away, unary calls on it with a deadline. Like grpc-js's default, a
 * call made while the endpoint cannot be reached fails at once (UNAVAILABLE) rather than waiting; the next
 * connection attempt comes after a back-off of 100 ms, doubling up to 500 ms.
 */
import { status as Code } from "@grpc/grpc-js";
import { DeadlineSweep, GrpcCallError, UnaryCall } from "./grpc-call.js";
import { encodeHeaderBlock, HeaderDecoder } from "./hpack.js";
import { H2Session } from "./session.js";
import { tlsMaterialFor } from "../endpoint-tls.js";
import { tokenFor } from "../endpoint-auth.js";

export interface ChannelOptions {
  /** Per-call deadline, also sent to the server as grpc-timeout. */
  timeoutMs: number;
  connectTimeoutMs?: number;
  userAgent?: string;
}

/** A length-prefixed gRPC message (not compressed): what a request body is. */
export function frameMessage(msg: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(5 + msg.length);
  b[0] = 0;
  b.writeUInt32BE(msg.length, 1);
  b.set(msg, 5);
  return b;
}

const MIN_BACKOFF = 100;
const MAX_BACKOFF = 500;

export class GrpcH2Channel {
  readonly host: string;
  readonly port: number;
  /** https: TLS with ALPN h2 and the client certificate registered for the endpoint (bench/endpoint-tls.ts). */
  private readonly secure: boolean;
  private session: H2Session | null = null;
  private connecting: Promise<H2Session> | null = null;
  private lastError = "";
  private retryAt = 0;
  private backoffMs = MIN_BACKOFF;
  private closed = false;
  private readonly blocks = new Map<string, Buffer>();
  private readonly decoder = new HeaderDecoder();
  private readonly deadlines: DeadlineSweep;

  constructor(
    readonly endpoint: string,
    private readonly opts: ChannelOptions,
  ) {
    const u = new URL(endpoint.includes("://") ? endpoint : `http://${endpoint}`);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`${endpoint}: the load generator takes http:// or https:// endpoints`);
    this.secure = u.protocol === "https:";
    this.host = u.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(u.port || 80);
    this.deadlines = new DeadlineSweep(Math.max(5, Math.min(100, Math.floor(opts.timeoutMs / 10))), (c) => {
      c.session?.cancel(c);
      c.settle(new GrpcCallError(Code.DEADLINE_EXCEEDED, "Deadline exceeded"), null);
    });
  }

  private tlsOption(): { tls?: { ca: Buffer; cert: Buffer; key: Buffer } } {
    if (!this.secure) return {};
    const t = tlsMaterialFor(this.endpoint);
    if (!t) throw new Error(`${this.endpoint}: no client certificate registered for this https endpoint`);
    return { tls: { ca: t.ca, cert: t.cert, key: t.key } };
  }

  /** True unless the last connection attempt failed and the back-off has not passed: a balancer skips it then. */
  get healthy(): boolean {
    return (this.session !== null && this.session.usable) || Date.now() >= this.retryAt;
  }

  /** The request headers of a method, encoded once (grpc-timeout is the same for every call: the deadline is relative). */
  private headerBlock(path: string): Buffer {
    let b = this.blocks.get(path);
    if (!b) {
      b = encodeHeaderBlock([
        [":method", "POST"],
        [":scheme", this.secure ? "https" : "http"],
        [":path", path],
        [":authority", `${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}`],
        ["content-type", "application/grpc"],
        ["te", "trailers"],
        ["grpc-timeout", `${Math.max(1, Math.min(99_999_999, this.opts.timeoutMs))}m`],
        ["user-agent", this.opts.userAgent ?? "etcdkit-bench-h2"],
        // a cluster with auth on: the registered token (bench/endpoint-auth.ts)
        ...(tokenFor(this.endpoint) ? [["token", tokenFor(this.endpoint)!] as [string, string]] : []),
      ]);
      this.blocks.set(path, b);
    }
    return b;
  }

  /** Connects now; rejects when the endpoint does not answer with HTTP/2 in time. */
  async ready(): Promise<void> {
    this.retryAt = 0;
    await this.connect();
  }

  /**
   * A unary call: `framed` is the length-prefixed request (frameMessage). It is copied before this returns,
   * so the caller may reuse its buffer. Resolves with the response message (without its prefix).
   */
  unary(path: string, framed: Buffer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const call = new UnaryCall(this.decoder, (err, msg) => {
        this.deadlines.delete(call);
        if (err) reject(err);
        else resolve(msg!);
      });
      call.deadline = Date.now() + this.opts.timeoutMs;
      this.deadlines.add(call);
      const s = this.session;
      if (s !== null && s.usable) {
        call.session = s;
        s.request(this.headerBlock(path), framed, call);
        return;
      }
      const body = Buffer.from(framed);
      this.connect().then(
        (s2) => {
          if (call.settled) return;
          call.session = s2;
          s2.request(this.headerBlock(path), body, call);
        },
        (e: Error) => call.settle(new GrpcCallError(Code.UNAVAILABLE, `No connection established: ${e.message}`), null),
      );
    });
  }

  private connect(): Promise<H2Session> {
    if (this.closed) return Promise.reject(new Error("channel closed"));
    if (this.session !== null && this.session.usable) return Promise.resolve(this.session);
    if (this.connecting) return this.connecting;
    if (Date.now() < this.retryAt) return Promise.reject(new Error(this.lastError));
    let tlsOpt: ReturnType<GrpcH2Channel["tlsOption"]>;
    try {
      tlsOpt = this.tlsOption();
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const attempt = H2Session.connect({ host: this.host, port: this.port, connectTimeoutMs: this.opts.connectTimeoutMs ?? 5000, ...tlsOpt }).then(
      (s) => {
        this.connecting = null;
        if (this.closed) {
          s.close();
          throw new Error("channel closed");
        }
        this.session = s;
        this.backoffMs = MIN_BACKOFF;
        return s;
      },
      (e: Error) => {
        this.connecting = null;
        this.lastError = e.message;
        this.retryAt = Date.now() + this.backoffMs;
        this.backoffMs = Math.min(MAX_BACKOFF, this.backoffMs * 2);
        throw e;
      },
    );
    this.connecting = attempt;
    return attempt;
  }

  close(): void {
    this.closed = true;
    this.deadlines.stop();
    this.session?.close();
    this.session = null;
  }
}
