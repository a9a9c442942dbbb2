/**
 * A unary etcd client that retries exactly when etcd's Go client (clientv3 3.4) does, for tests
 * that must see what clientv3 users see. From clientv3/retry_interceptor.go and retry.go:
 *
 * - every call has a context with a deadline; each attempt sends the time left in `grpc-timeout`,
 *   encoded as grpc-go does (nanoseconds, else microseconds, ... rounded up);
 * - an attempt that fails with DEADLINE_EXCEEDED or CANCELLED is retried, whatever the RPC, as long
 *   as the caller's context has not expired yet (`isContextError(err) && ctx.Err() == nil`): a
 *   server that answers with these codes before the client's own deadline fires gets the request
 *   again, on another endpoint;
 * - otherwise reads (Range, and the other "repeatable" RPCs) are retried on UNAVAILABLE; writes
 *   (Put, DeleteRange, Txn, ...) are retried only when no connection could be had at all;
 * - attempts round-robin over the endpoints; before attempt n > 0, a back-off of 25 ms (+10%
 *   jitter) when n is a multiple of the quorum size; at most 100 attempts.
 *
 * The context's expiry is a timer, like Go's timerCtx: an answer that arrives before the timer has
 * fired is judged with the context still alive. It speaks HTTP/2 itself (node:http2) because a
 * gRPC library would impose its own deadline handling.
 */
import { connect, constants, type ClientHttp2Session } from "node:http2";
import { serviceDefinition } from "../../server/pb/grpc-services.js";

export const Code = { OK: 0, CANCELLED: 1, UNKNOWN: 2, DEADLINE_EXCEEDED: 4, UNAVAILABLE: 14 } as const;

/** clientv3's retry policies: Range & co. are "repeatable", every mutation "nonRepeatable". */
const REPEATABLE = new Set(["Range", "LeaseTimeToLive", "LeaseLeases", "MemberList", "Status", "Alarm", "Hash", "HashKV", "MoveLeader", "LeaseGrant", "LeaseRevoke"]);
const SERVICE_OF: Record<string, string> = {
  Range: "KV",
  Put: "KV",
  DeleteRange: "KV",
  Txn: "KV",
  Compact: "KV",
  LeaseGrant: "Lease",
  LeaseRevoke: "Lease",
  LeaseTimeToLive: "Lease",
  Status: "Maintenance",
};
const NO_CONNECTION = "there is no connection available";
const MAX_ATTEMPTS = 100;
const BACKOFF_MS = 25;
const JITTER = 0.1;

export interface RpcError {
  readonly code: number;
  readonly message: string;
  /** True if this status was written by the server (false: made by this client, e.g. its own deadline). */
  readonly fromServer: boolean;
}

export interface CallResult<T> {
  readonly ok: boolean;
  readonly response?: T;
  readonly error?: RpcError;
  /** Attempts made (1 = no retry). */
  readonly attempts: number;
  /** Retries caused by a DEADLINE_EXCEEDED / CANCELLED the server sent before the context expired. */
  readonly ctxErrorRetries: number;
  /** The endpoint of each attempt, in order. */
  readonly endpoints: string[];
}

/** grpc-go's encodeTimeout. */
export function encodeGrpcTimeout(ms: number): string {
  if (ms <= 0) return "0n";
  const ns = Math.round(ms * 1e6);
  const max = 99_999_999;
  for (const [unit, perUnit] of [["n", 1], ["u", 1e3], ["m", 1e6], ["S", 1e9], ["M", 60e9], ["H", 3600e9]] as const) {
    const v = Math.ceil(ns / perUnit);
    if (v <= max) return `${v}${unit}`;
  }
  return `${max}H`;
}

/** Go's context.WithTimeout: Err() becomes non-nil when its timer fires, not a moment before. */
class Ctx {
  private expired = false;
  private readonly timer: NodeJS.Timeout;
  readonly deadline: number;
  readonly done: Promise<void>;

  constructor(timeoutMs: number) {
    this.deadline = performance.now() + timeoutMs;
    let fire!: () => void;
    this.done = new Promise((r) => (fire = r));
    this.timer = setTimeout(() => {
      this.expired = true;
      fire();
    }, timeoutMs);
  }

  err(): boolean {
    return this.expired;
  }

  leftMs(): number {
    return this.deadline - performance.now();
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}

export class RetryingClient {
  private readonly sessions = new Map<string, ClientHttp2Session>();
  private next = 0;
  private closed = false;

  constructor(readonly endpoints: readonly string[]) {
    if (endpoints.length === 0) throw new Error("no endpoints");
    this.next = Math.floor(Math.random() * endpoints.length);
  }

  /** One clientv3 call: `method` of the KV / Lease / Maintenance service, with a context of `timeoutMs`. */
  async call<T = Record<string, unknown>>(method: string, request: object, timeoutMs: number): Promise<CallResult<T>> {
    const def = serviceDefinition("etcdserverpb", SERVICE_OF[method] ?? "KV")[method];
    if (!def) throw new Error(`unknown method ${method}`);
    const body = def.requestSerialize(request);
    const ctx = new Ctx(timeoutMs);
    const endpoints: string[] = [];
    let ctxErrorRetries = 0;
    let lastErr: RpcError = { code: Code.DEADLINE_EXCEEDED, message: "context deadline exceeded", fromServer: false };
    const quorum = Math.floor(this.endpoints.length / 2) + 1;
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (attempt > 0 && attempt % quorum === 0) {
          const wait = BACKOFF_MS * (1 + JITTER * Math.random());
          const expired = await Promise.race([new Promise<boolean>((r) => setTimeout(() => r(false), wait)), ctx.done.then(() => true)]);
          if (expired) return { ok: false, error: { code: Code.DEADLINE_EXCEEDED, message: "context deadline exceeded", fromServer: false }, attempts: attempt, ctxErrorRetries, endpoints };
        }
        const ep = this.endpoints[this.next++ % this.endpoints.length]!;
        endpoints.push(ep);
        const { body: resBody, ...r } = await this.attempt(ep, def.path, body, ctx);
        if (r.code === Code.OK) return { ok: true, response: def.responseDeserialize(resBody) as T, attempts: attempt + 1, ctxErrorRetries, endpoints };
        lastErr = r;
        if (r.code === Code.DEADLINE_EXCEEDED || r.code === Code.CANCELLED) {
          if (ctx.err()) return { ok: false, error: r, attempts: attempt + 1, ctxErrorRetries, endpoints };
          ctxErrorRetries++;
          continue; // clientv3: "its the callCtx deadline or cancellation, in which case try again"
        }
        const retry = REPEATABLE.has(method) ? r.code === Code.UNAVAILABLE : r.code === Code.UNAVAILABLE && r.message === NO_CONNECTION;
        if (!retry) return { ok: false, error: r, attempts: attempt + 1, ctxErrorRetries, endpoints };
      }
      return { ok: false, error: lastErr, attempts: MAX_ATTEMPTS, ctxErrorRetries, endpoints };
    } finally {
      ctx.cancel();
    }
  }

  private session(ep: string): ClientHttp2Session {
    const s = this.sessions.get(ep);
    if (s && !s.closed && !s.destroyed) return s;
    const ns = connect(`http://${ep}`);
    ns.on("error", () => undefined);
    ns.on("close", () => {
      if (this.sessions.get(ep) === ns) this.sessions.delete(ep);
    });
    this.sessions.set(ep, ns);
    return ns;
  }

  /** One attempt: the server's status, or a status this client made (its context expired, no connection). */
  private attempt(ep: string, path: string, body: Buffer, ctx: Ctx): Promise<RpcError & { body: Buffer }> {
    if (this.closed) return Promise.resolve({ code: Code.CANCELLED, message: "client closed", fromServer: false, body: Buffer.alloc(0) });
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    return new Promise((resolve) => {
      let settled = false;
      let code: number | undefined;
      let message = "";
      const chunks: Buffer[] = [];
      const finish = (r: RpcError) => {
        if (settled) return;
        settled = true;
        const data = Buffer.concat(chunks);
        resolve({ ...r, body: data.length >= 5 ? data.subarray(5, 5 + data.readUInt32BE(1)) : Buffer.alloc(0) });
      };
      let req: ReturnType<ClientHttp2Session["request"]>;
      try {
        req = this.session(ep).request({
          [constants.HTTP2_HEADER_METHOD]: "POST",
          [constants.HTTP2_HEADER_PATH]: path,
          "content-type": "application/grpc",
          te: "trailers",
          "grpc-timeout": encodeGrpcTimeout(ctx.leftMs()),
        });
      } catch (e) {
        finish({ code: Code.UNAVAILABLE, message: `connection error: ${(e as Error).message}`, fromServer: false });
        return;
      }
      // The context fires first: give up and reset the stream, as grpc-go does.
      void ctx.done.then(() => {
        if (settled) return;
        finish({ code: Code.DEADLINE_EXCEEDED, message: "context deadline exceeded", fromServer: false });
        req.close(constants.NGHTTP2_CANCEL);
      });
      const readStatus = (h: Record<string, unknown>) => {
        if (h["grpc-status"] === undefined) return;
        code = Number(h["grpc-status"]);
        message = decodeURIComponent(String(h["grpc-message"] ?? ""));
      };
      req.on("response", readStatus);
      req.on("trailers", readStatus);
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("close", () => {
        if (code !== undefined) finish({ code, message, fromServer: true });
        else finish({ code: Code.UNAVAILABLE, message: `stream closed without a status (rst ${req.rstCode})`, fromServer: false });
      });
      req.on("error", () => undefined);
      req.end(frame);
    });
  }

  close(): void {
    this.closed = true;
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}
