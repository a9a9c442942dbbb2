/**
 * A request's context in the request layer, whichever transport brought it (gRPC, the JSON gateway,
 * the member's own Lock and Election recipes). Every service method takes one first.
 *
 * Today it carries the request's AbortSignal (etcdserver/request-context.ts: aborted when the
 * caller's deadline passes or the caller goes away, with etcd's error as the reason). It is the one
 * place the caller's identity will go (the user of an auth token, a TLS client certificate's name):
 * the adapters fill it in from their transport, the request layer checks it, once for all of them.
 */
export interface RequestContext {
  readonly signal: AbortSignal;
}

/** Never aborts: for what the member asks of itself (auto compaction, a lease session of its own). */
const NEVER = new AbortController().signal;

export function requestContext(signal?: AbortSignal): RequestContext {
  return { signal: signal ?? NEVER };
}
