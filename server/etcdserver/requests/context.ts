/**
 * A request's context in the request layer, whichever transport brought it (gRPC, the JSON gateway,
 * the member's own Lock and Election recipes). Every service method takes one first.
 *
 * It carries the request's AbortSignal (etcdserver/request-context.ts: aborted when the caller's
 * deadline passes or the caller goes away, with etcd's error as the reason) and the caller's
 * credentials as its transport delivered them: the adapters fill them in, the request layer checks
 * them, once for all of them (access.ts).
 */
export interface RequestContext {
  readonly signal: AbortSignal;
  /**
   * The auth token the caller sent: gRPC metadata `token` (or `authorization`, as etcd also reads),
   * the gateway's `Grpc-Metadata-Token` or `Authorization` header. Absent: none; empty (a gateway
   * header sent empty, as etcd reads it): a token no member issued.
   */
  readonly token?: string;
  /**
   * The common name of the client certificate the TLS listener verified, when --client-cert-auth
   * is on (etcd's AuthInfoFromTLS). It names the user when no token is given. The gateway never
   * sets it (etcd ignores the CN of gateway requests).
   */
  readonly certCommonName?: string;
}

/** Never aborts: for what the member asks of itself (auto compaction, a lease session of its own). */
const NEVER = new AbortController().signal;

export function requestContext(signal?: AbortSignal, credentials: { token?: string; certCommonName?: string } = {}): RequestContext {
  const ctx: { signal: AbortSignal; token?: string; certCommonName?: string } = { signal: signal ?? NEVER };
  if (credentials.token !== undefined) ctx.token = credentials.token;
  if (credentials.certCommonName) ctx.certCommonName = credentials.certCommonName;
  return ctx;
}
