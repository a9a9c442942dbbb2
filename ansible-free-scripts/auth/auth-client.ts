/**
 * etcd's Auth service over gRPC (the server's own .proto files), as clientv3 uses it: Authenticate
 * gives a token that every later call carries in the `token` metadata; a call refused with
 * "revision of auth store is old" (our own changes made the token stale) authenticates again and
 * is retried once, as clientv3 does. Plain text or TLS per endpoint, as snapshot-client decides it.
 */
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/api/proto/load.js";
import type { Endpoint, TlsFiles } from "../backup/snapshot-client.js";

export const ERR_AUTH_NOT_ENABLED = "etcdserver: authentication is not enabled";
export const ERR_AUTH_FAILED = "etcdserver: authentication failed, invalid user ID or password";
export const ERR_OLD_REVISION = "etcdserver: revision of auth store is old";

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** An etcd error as its text (what etcdctl prints), so callers can compare with etcd's messages. */
export class EtcdCallError extends Error {
  constructor(
    readonly method: string,
    readonly details: string,
    readonly code: number,
  ) {
    super(`${method}: ${details}`);
  }
}

export function channelCredentials(ep: Endpoint, tls: TlsFiles): grpc.ChannelCredentials {
  if (!ep.tls) return grpc.credentials.createInsecure();
  const read = (f: string | undefined) => (f ? readFileSync(f) : null);
  return grpc.credentials.createSsl(read(tls.cacert), read(tls.key), read(tls.cert));
}

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export class AuthClient {
  private readonly auth: grpc.Client;
  private token: string | undefined;
  private creds: Credentials | undefined;

  constructor(
    readonly endpoint: Endpoint,
    tls: TlsFiles,
    private readonly timeoutMs = 10_000,
  ) {
    const Ctor = clientConstructor("etcdserverpb", "Auth");
    this.auth = new Ctor(new URL(endpoint.url).host, channelCredentials(endpoint, tls));
  }

  close(): void {
    this.auth.close();
  }

  /** One Auth call with the current token; a stale token is renewed once. */
  async call<T>(method: string, req: unknown): Promise<T> {
    try {
      return await this.raw<T>(method, req, this.token);
    } catch (e) {
      if (!(e instanceof EtcdCallError) || e.details !== ERR_OLD_REVISION || !this.creds) throw e;
      await this.login(this.creds);
      return this.raw<T>(method, req, this.token);
    }
  }

  /** Authenticate and use the token from now on. Throws EtcdCallError (e.g. ERR_AUTH_NOT_ENABLED). */
  async login(c: Credentials): Promise<void> {
    this.token = await this.authenticate(c);
    this.creds = c;
  }

  /** Authenticate without keeping the token (checks a password). */
  async authenticate(c: Credentials): Promise<string> {
    const r = await this.raw<{ token: string }>("Authenticate", { name: c.user, password: c.password }, undefined);
    return r.token;
  }

  private raw<T>(method: string, req: unknown, token: string | undefined): Promise<T> {
    const fn = (this.auth as unknown as Record<string, Unary>)[method];
    if (typeof fn !== "function") return Promise.reject(new Error(`no Auth method ${method}`));
    const md = new grpc.Metadata();
    if (token) md.set("token", token);
    return new Promise<T>((resolve, reject) =>
      fn.call(this.auth, req, md, { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        if (err) reject(new EtcdCallError(method, err.details || err.message, err.code));
        else resolve(res as T);
      }),
    );
  }
}

/** Authenticates `creds` at `ep` and returns the token (for clients of other services: metadata `token`). */
export async function tokenFor(ep: Endpoint, tls: TlsFiles, creds: Credentials, timeoutMs = 10_000): Promise<string> {
  const c = new AuthClient(ep, tls, timeoutMs);
  try {
    return await c.authenticate(creds);
  } finally {
    c.close();
  }
}
