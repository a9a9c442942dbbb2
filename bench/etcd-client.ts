/**
 * Thin gRPC access to etcd's v3 API for the benchmark, on the stubs generated from this repo's protos.
 * Each EtcdChannel is one HTTP/2 connection (a private subchannel pool, so channels are never shared
 * behind our back), carrying whichever services a workload needs.
 */
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../server/api/proto/load.js";
import { isHttps, tlsMaterialFor } from "./endpoint-tls.js";
import { tokenFor } from "./endpoint-auth.js";

/** Adds the endpoint's auth token (bench/endpoint-auth.ts), when one is registered, to every call. */
function tokenInterceptor(endpoint: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        const t = tokenFor(endpoint);
        if (t) metadata.set("token", t);
        next(metadata, listener);
      },
    });
}

/** TLS for https endpoints, with the client certificate registered for the endpoint (endpoint-tls.ts). */
export function channelCredentials(endpoint: string): grpc.ChannelCredentials {
  if (!isHttps(endpoint)) return grpc.credentials.createInsecure();
  const t = tlsMaterialFor(endpoint);
  return t ? grpc.credentials.createSsl(t.ca, t.key, t.cert) : grpc.credentials.createSsl();
}

export type Unary = (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => void;

/** "http://127.0.0.1:2379" → "127.0.0.1:2379" (grpc-js wants host:port, or a dns:/ipv4: target). */
export function grpcTarget(url: string): string {
  const u = url.includes("://") ? new URL(url) : new URL(`http://${url}`);
  return u.host;
}

/** "127.0.0.1:2379" or "http://127.0.0.1:2379/" → "http://127.0.0.1:2379". */
export function normalizeUrl(url: string): string {
  const u = url.includes("://") ? new URL(url) : new URL(`http://${url}`);
  return `${u.protocol}//${u.host}`;
}

let channelSeq = 0;

export class EtcdChannel {
  readonly channel: grpc.Channel;
  private readonly clients = new Map<string, grpc.Client>();
  constructor(readonly endpoint: string) {
    this.channel = new grpc.Channel(grpcTarget(endpoint), channelCredentials(endpoint), {
      "grpc.use_local_subchannel_pool": 1,
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      // A distinct option value makes every channel its own connection even if a pool were shared.
      "etcdkit.channel_id": ++channelSeq,
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 500,
    });
  }

  service(pkg: string, name: string): grpc.Client {
    const key = `${pkg}.${name}`;
    let c = this.clients.get(key);
    if (!c) {
      const Ctor = clientConstructor(pkg, name);
      c = new Ctor(grpcTarget(this.endpoint), channelCredentials(this.endpoint), { channelOverride: this.channel, interceptors: [tokenInterceptor(this.endpoint)] });
      this.clients.set(key, c);
    }
    return c;
  }

  kv(): grpc.Client {
    return this.service("etcdserverpb", "KV");
  }
  maintenance(): grpc.Client {
    return this.service("etcdserverpb", "Maintenance");
  }
  lease(): grpc.Client {
    return this.service("etcdserverpb", "Lease");
  }
  watch(): grpc.Client {
    return this.service("etcdserverpb", "Watch");
  }
  cluster(): grpc.Client {
    return this.service("etcdserverpb", "Cluster");
  }

  /** Connect now (or fail after timeoutMs). */
  ready(timeoutMs: number): Promise<void> {
    const c = this.kv();
    return new Promise((resolve, reject) =>
      c.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(new Error(`${this.endpoint}: ${err.message}`)) : resolve())),
    );
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.channel.close();
  }
}

export function unary<T = any>(client: grpc.Client, method: string, req: unknown, timeoutMs: number): Promise<T> {
  const fn = (client as unknown as Record<string, Unary>)[method];
  if (typeof fn !== "function") return Promise.reject(new Error(`no such method ${method}`));
  return new Promise((resolve, reject) =>
    fn.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res as T))),
  );
}

export function isTimeout(err: unknown): boolean {
  return (err as grpc.ServiceError | undefined)?.code === grpc.status.DEADLINE_EXCEEDED;
}

/** A short, countable description of a failed call: "UNAVAILABLE: No connection established". */
export function errorKind(err: unknown): string {
  const e = err as Partial<grpc.ServiceError> | undefined;
  if (e && typeof e.code === "number") {
    const name = grpc.status[e.code] ?? String(e.code);
    const detail = (e.details ?? e.message ?? "")
      .replace(/\s+/g, " ")
      .replace(/^Deadline exceeded after.*$/i, "deadline exceeded")
      .replace(/\b\d{1,3}(\.\d{1,3}){3}:\d+\b/g, "<addr>")
      .slice(0, 80);
    return `${name}: ${detail}`;
  }
  return String((err as Error)?.message ?? err).slice(0, 100);
}

export { prefixEnd } from "../server/util/prefix-end.js";

export interface MemberStatus {
  endpoint: string;
  memberId: string;
  leaderId: string;
  raftTerm: string;
  version: string;
}

/** Maintenance.Status on one endpoint, through a fresh short-lived channel. */
export async function endpointStatus(endpoint: string, timeoutMs: number, ch?: EtcdChannel): Promise<MemberStatus> {
  const own = !ch;
  const c = ch ?? new EtcdChannel(endpoint);
  try {
    const res = await unary(c.maintenance(), "Status", {}, timeoutMs);
    return {
      endpoint,
      memberId: String(res.header?.member_id ?? "0"),
      leaderId: String(res.leader ?? "0"),
      raftTerm: String(res.raftTerm ?? res.raft_term ?? "0"),
      version: String(res.version ?? ""),
    };
  } finally {
    if (own) c.close();
  }
}

/**
 * Status of an endpoint that answers etcd's API: Maintenance.Status, or failing that a KV.Range (a server
 * without Status still takes load; its member id and leader are then unknown, "0").
 */
export async function answeringStatus(endpoint: string, timeoutMs: number): Promise<MemberStatus> {
  const ch = new EtcdChannel(endpoint);
  try {
    return await endpointStatus(endpoint, timeoutMs, ch);
  } catch (statusErr) {
    try {
      const res = await unary(ch.kv(), "Range", { key: Buffer.from([0]), limit: 1, serializable: true }, timeoutMs);
      return { endpoint, memberId: String(res.header?.member_id ?? "0"), leaderId: "0", raftTerm: "0", version: "" };
    } catch {
      throw statusErr;
    }
  } finally {
    ch.close();
  }
}

/** Throws a clear error naming every endpoint that does not answer (Status, else Range) within timeoutMs. */
export async function checkEndpoints(endpoints: string[], timeoutMs: number): Promise<MemberStatus[]> {
  const results = await Promise.allSettled(endpoints.map((e) => answeringStatus(e, timeoutMs)));
  const bad = results
    .map((r, i) => (r.status === "rejected" ? `${endpoints[i]} (${errorKind(r.reason)})` : null))
    .filter((x): x is string => x !== null);
  if (bad.length) throw new Error(`endpoint${bad.length > 1 ? "s" : ""} not answering etcd's gRPC API: ${bad.join(", ")}`);
  return results.map((r) => (r as PromiseFulfilledResult<MemberStatus>).value);
}
