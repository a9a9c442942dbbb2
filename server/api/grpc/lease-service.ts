import * as grpc from "@grpc/grpc-js";
import type { ServerDuplexStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../../etcdserver/server.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { ErrLeaseNotFound, NotPrimaryError } from "../../lease/errors.js";
import { EtcdError, ErrCanceled, ErrNoLeader, ErrTimeout, GrpcCode } from "../../pb/errors.js";
import { isDeadlineExceeded, untilAborted } from "../../etcdserver/request-context.js";
import { toBigInt, toSafe } from "../../pb/convert.js";
import type { Int64 } from "../../pb/wire.js";
import { clientConstructor } from "../../pb/grpc-services.js";
import { grpcCodeName, toServiceError } from "./errors.js";
import { headerToWire } from "./header.js";
import { unary } from "./unary.js";

export interface WireLeaseTimeToLiveResponse {
  header?: unknown;
  ID: Int64;
  TTL: Int64;
  grantedTTL: Int64;
  keys: Buffer[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Errors from a forwarded request worth retrying (the leader went away, changed, or timed out). */
const TRANSIENT = new Set([GrpcCode.Unavailable, GrpcCode.DeadlineExceeded, GrpcCode.Cancelled, GrpcCode.Unknown, GrpcCode.FailedPrecondition]);

/**
 * Keep-alive and time-to-live are answered by the leader's lessor. A follower forwards them to the
 * leader's client URL over gRPC (etcd forwards over the peer HTTP port): keep-alives share one
 * LeaseKeepAlive stream per leader (the leader answers a stream's requests in order, one response
 * each, so responses match requests first-in first-out).
 */
class LeaderLink {
  private readonly client: grpc.Client & Record<string, unknown>;
  private stream: grpc.ClientDuplexStream<{ ID: string }, { TTL: string }> | undefined;
  private pending: Array<{ resolve: (ttl: number) => void; reject: (e: Error) => void }> = [];

  constructor(readonly clientUrl: string) {
    const Ctor = clientConstructor("etcdserverpb", "Lease");
    this.client = new Ctor(new URL(clientUrl).host, grpc.credentials.createInsecure()) as grpc.Client & Record<string, unknown>;
  }

  /** One keep-alive on the shared stream; a request unanswered within `timeoutMs` resets the stream (so responses stay matched). */
  renew(id: bigint, timeoutMs: number): Promise<number> {
    const s = this.keepAliveStream();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.resetStream(s, ErrTimeout), timeoutMs);
      this.pending.push({
        resolve: (ttl) => {
          clearTimeout(timer);
          resolve(ttl);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      s.write({ ID: id.toString() });
    });
  }

  private resetStream(s: grpc.ClientDuplexStream<{ ID: string }, { TTL: string }>, e: Error): void {
    if (this.stream !== s) return;
    this.stream = undefined;
    for (const p of this.pending.splice(0)) p.reject(e);
    s.cancel();
  }

  timeToLive(id: bigint, keys: boolean, deadlineMs: number): Promise<WireLeaseTimeToLiveResponse> {
    return new Promise((resolve, reject) => {
      (this.client.LeaseTimeToLive as (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: WireLeaseTimeToLiveResponse) => void) => void).call(
        this.client,
        { ID: id.toString(), keys },
        { deadline: Date.now() + deadlineMs },
        (err, res) => (err ? reject(new EtcdError(err.code as number as GrpcCode, err.details)) : resolve(res)),
      );
    });
  }

  private keepAliveStream(): grpc.ClientDuplexStream<{ ID: string }, { TTL: string }> {
    if (this.stream) return this.stream;
    const s = (this.client.LeaseKeepAlive as () => grpc.ClientDuplexStream<{ ID: string }, { TTL: string }>).call(this.client);
    s.on("data", (res: { TTL: string }) => this.pending.shift()?.resolve(toSafe(res.TTL)));
    const fail = (e: Error) => this.resetStream(s, e);
    s.on("error", (e: grpc.ServiceError) => fail(new EtcdError(e.code as number as GrpcCode, e.details)));
    s.on("end", () => fail(ErrNoLeader));
    this.stream = s;
    return s;
  }

  close(): void {
    this.stream?.cancel();
    this.stream = undefined;
    this.client.close();
  }
}

/** The Lease API for one server (gRPC and the JSON gateway share it). */
export class LeaseHandlers {
  private link: LeaderLink | undefined;
  private readonly timeoutMs: number;

  constructor(
    private readonly server: EtcdServer,
    /** How long a forwarded request keeps trying (etcd: the request timeout, 5 s + 2 election timeouts). */
    requestTimeoutMs = 7000,
  ) {
    this.timeoutMs = requestTimeoutMs;
  }

  async grant(r: { TTL: Int64; ID: Int64 }, signal?: AbortSignal) {
    const res = await this.server.leases.grant(toSafe(r.TTL), toBigInt(r.ID), signal);
    return { header: headerToWire(this.server.header(res.revision)), ID: res.id.toString(), TTL: res.ttl, error: "" };
  }

  async revoke(r: { ID: Int64 }, signal?: AbortSignal) {
    const res = await this.server.leases.revoke(toBigInt(r.ID), signal);
    return { header: headerToWire(this.server.header(res.revision)) };
  }

  async timeToLive(r: { ID: Int64; keys: boolean }, signal?: AbortSignal) {
    const id = toBigInt(r.ID);
    const withKeys = !!r.keys;
    const header = () => headerToWire(this.server.header());
    const notFound = () => ({ header: header(), ID: id.toString(), TTL: -1, grantedTTL: 0, keys: [] as Buffer[] });
    const res = await this.onLeader(
      async () => {
        const t = await this.server.leases.timeToLive(id, withKeys);
        if (!t) return notFound();
        return { header: header(), ID: id.toString(), TTL: t.ttl, grantedTTL: t.grantedTtl, keys: t.keys };
      },
      async (link, left) => ({ ...(await link.timeToLive(id, withKeys, left)), header: header() }),
      signal,
    );
    return res;
  }

  async leases() {
    return { header: headerToWire(this.server.header()), leases: this.server.leases.list().map((l) => ({ ID: l.id.toString() })) };
  }

  /** One keep-alive: the TTL, or 0 for a lease that does not exist (etcd). */
  async keepAlive(r: { ID: Int64 }) {
    const id = toBigInt(r.ID);
    // the header is taken before renewing, as etcd (a keep-alive never looks newer than a revoke)
    const header = headerToWire(this.server.header());
    let ttl: number;
    try {
      ttl = await this.onLeader(
        () => this.server.leases.renew(id),
        (link, left) => link.renew(id, Math.min(left, 3000)),
      );
    } catch (e) {
      if (e !== ErrLeaseNotFound) throw e;
      ttl = 0;
    }
    return { header, ID: id.toString(), TTL: ttl };
  }

  /**
   * Runs `local` if this member is the primary lessor, else `remote` on the leader, retrying until the
   * request timeout or until the caller's context ends (then etcd's ErrTimeout, or ErrCanceled).
   */
  private async onLeader<T>(local: () => Promise<T>, remote: (link: LeaderLink, leftMs: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    const ended = () => (isDeadlineExceeded(signal!) ? ErrTimeout : ErrCanceled);
    let lastErr: unknown = ErrTimeout;
    for (;;) {
      if (signal?.aborted) throw ended();
      try {
        return await local();
      } catch (e) {
        if (!(e instanceof NotPrimaryError)) throw e;
      }
      const leaderId = this.server.leader();
      if (leaderId !== this.server.memberId) {
        const url = this.server.members().find((m) => m.id === leaderId)?.clientUrls[0];
        if (url) {
          if (this.link?.clientUrl !== url) {
            this.link?.close();
            this.link = new LeaderLink(url);
          }
          try {
            return await untilAborted(remote(this.link, Math.max(1, deadline - Date.now())), signal, ended);
          } catch (e) {
            if (e === ErrLeaseNotFound || (e instanceof EtcdError && e.code === GrpcCode.NotFound)) throw ErrLeaseNotFound;
            if (signal?.aborted) throw ended();
            // the leader's own answer (not a transport or leadership problem) is final
            if (e instanceof EtcdError && !TRANSIENT.has(e.code)) throw e;
            lastErr = e;
          }
        } else {
          lastErr = ErrNoLeader;
        }
      }
      if (Date.now() >= deadline) throw lastErr === ErrNoLeader ? ErrNoLeader : ErrTimeout;
      await untilAborted(sleep(50), signal, ended);
    }
  }

  close(): void {
    this.link?.close();
    this.link = undefined;
  }
}

export function leaseService(h: LeaseHandlers, metrics: ServerMetrics): UntypedServiceImplementation {
  const svc = "etcdserverpb.Lease";
  return {
    LeaseGrant: unary(metrics, svc, "LeaseGrant", (r: { TTL: Int64; ID: Int64 }, signal) => h.grant(r, signal)),
    LeaseRevoke: unary(metrics, svc, "LeaseRevoke", (r: { ID: Int64 }, signal) => h.revoke(r, signal)),
    LeaseTimeToLive: unary(metrics, svc, "LeaseTimeToLive", (r: { ID: Int64; keys: boolean }, signal) => h.timeToLive(r, signal)),
    LeaseLeases: unary(metrics, svc, "LeaseLeases", () => h.leases()),
    LeaseKeepAlive: (call: ServerDuplexStream<{ ID: Int64 }, object>) => keepAliveStream(h, metrics, call),
  };
}

/** etcd's leaseKeepAlive loop: requests answered one at a time, in order; a client half-close ends the stream OK. */
function keepAliveStream(h: LeaseHandlers, metrics: ServerMetrics, call: ServerDuplexStream<{ ID: Int64 }, object>): void {
  const labels = { grpc_type: "bidi_stream", grpc_service: "etcdserverpb.Lease", grpc_method: "LeaseKeepAlive" };
  metrics.grpcStarted.inc(labels);
  let chain: Promise<void> = Promise.resolve();
  let done = false;
  const finish = (err?: unknown) => {
    if (done) return;
    done = true;
    metrics.grpcHandled.inc({ ...labels, grpc_code: err === undefined ? "OK" : grpcCodeName(err) });
    if (err === undefined) call.end();
    else call.emit("error", toServiceError(err));
  };
  call.on("data", (req: { ID: Int64 }) => {
    chain = chain.then(async () => {
      if (done) return;
      try {
        call.write(await h.keepAlive(req));
      } catch (e) {
        finish(e);
      }
    });
  });
  call.on("end", () => void chain.then(() => finish()));
  call.on("cancelled", () => {
    done = true;
  });
  call.on("error", () => {
    done = true;
  });
}
