/**
 * A request's context in the request layer, whichever transport brought it (gRPC, the JSON gateway,
 * the member's own Lock and Election recipes). Every service method takes one first.
 *
 * It carries the request's AbortSignal (etcdserver/request-context.ts: aborted when the caller's
 * deadline passes or the caller goes away, with etcd's error as the reason) and the caller's
 * credentials as its transport delivered them: the adapters fill them in, the request layer checks
 * them, once for all of them (access.ts).
 */
import type { ContextSignal } from "../request-context.js";

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

/**
 * A call's context that makes its AbortSignal only when something asks for `signal`. Every unary
 * gRPC call has a context, but a put only waits on it through the proposer, which needs no
 * AbortSignal; creating one per call (and its EventTarget) was a visible share of a put's CPU.
 * Aborting it aborts the AbortSignal too, if one was made (or makes it aborted when asked later).
 */
export class LazySignal implements ContextSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> = [];
  private controller: AbortController | undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const ls = this.listeners;
    this.listeners = [];
    for (const f of ls) f();
  }

  /** Listeners run once, when it aborts (so `once` changes nothing). */
  addEventListener(_type: "abort", f: () => void): void {
    if (!this.aborted) this.listeners.push(f);
  }

  removeEventListener(_type: "abort", f: () => void): void {
    const i = this.listeners.indexOf(f);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /** The context as an AbortSignal (made on first use). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}

/**
 * A context made from a LazySignal: `signal` (a getter on the prototype) makes the AbortSignal only
 * when asked. A class, one shape for every call: an object literal with a getter made an accessor
 * and a closure per call, and a WeakMap entry found the LazySignal again (1 % of a member's CPU at
 * 100 clients, bench/figures/2026-12-06-inline-saves.md, section 4).
 */
class LazyContext implements RequestContext {
  token?: string;
  certCommonName?: string;
  constructor(readonly lazy: LazySignal) {}
  get signal(): AbortSignal {
    return this.lazy.signal;
  }
}

export function requestContext(signal?: AbortSignal | LazySignal, credentials: { token?: string; certCommonName?: string } = {}): RequestContext {
  const ctx: { signal: AbortSignal; token?: string; certCommonName?: string } = signal instanceof LazySignal ? new LazyContext(signal) : { signal: signal ?? NEVER };
  if (credentials.token !== undefined) ctx.token = credentials.token;
  if (credentials.certCommonName) ctx.certCommonName = credentials.certCommonName;
  return ctx;
}

/**
 * What a waiter that needs no AbortSignal waits on: the LazySignal the context was made from (so no
 * AbortSignal is made), else the context's signal. A copy of a context with another signal (a
 * recipe's own-time context, api/v3client, spreads it into a plain object) answers its own signal.
 */
export function waitSignal(ctx: RequestContext): ContextSignal {
  return ctx instanceof LazyContext ? ctx.lazy : ctx.signal;
}
