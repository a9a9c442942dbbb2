/**
 * A request's context, as Go's context.Context is in etcd: an AbortSignal that the API layer aborts
 * when the caller's deadline is about to pass or the caller goes away, with etcd's error for that
 * ending as the reason (ErrCtxDeadlineExceeded or ErrCtxCanceled). Everything that waits on raft
 * takes one, stops waiting when it aborts and answers what etcd answers at that point.
 */
import { ErrCtxCanceled, ErrCtxDeadlineExceeded, EtcdError } from "../pb/errors.js";
import type { Clock } from "../util/clock.js";

/**
 * What waiting on a caller's context needs of it. An AbortSignal has it; so has the gRPC adapter's
 * LazySignal (requests/context.ts), which builds an AbortSignal only for whoever asks for one.
 */
export interface ContextSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", f: () => void, opts?: { once?: boolean }): void;
  removeEventListener(type: "abort", f: () => void): void;
}

/** The error the context ended with (Go's ctx.Err(), as etcd's gRPC server answers it). */
export function contextError(signal: { readonly reason: unknown }): EtcdError {
  return signal.reason instanceof EtcdError ? signal.reason : ErrCtxCanceled;
}

export function isDeadlineExceeded(signal: AbortSignal): boolean {
  return signal.reason === ErrCtxDeadlineExceeded;
}

export interface TimedContext {
  readonly signal: AbortSignal;
  /** Stops the timer and the link to the parent (call once the wait is over). */
  done(): void;
}

/**
 * context.WithTimeout(parent, ms): aborts with ErrCtxDeadlineExceeded after `ms`, or with the parent's
 * reason. `clock`: what measures `ms` (a test's manual clock); without one, a plain timer.
 */
export function withTimeout(parent: AbortSignal | undefined, ms: number, clock?: Pick<Clock, "after">): TimedContext {
  const ac = new AbortController();
  const onParent = () => ac.abort(parent!.reason);
  const expire = () => ac.abort(ErrCtxDeadlineExceeded);
  const cancelTimer = clock ? clock.after(Math.max(0, ms), expire) : plainTimer(Math.max(0, ms), expire);
  if (parent?.aborted) onParent();
  else parent?.addEventListener("abort", onParent, { once: true });
  return {
    signal: ac.signal,
    done: () => {
      cancelTimer();
      parent?.removeEventListener("abort", onParent);
    },
  };
}

/**
 * context.WithTimeout(parent, ms) for one waiter that needs only the error the context ends with,
 * not a signal to hand on: the same endings as withTimeout (the parent's error, else
 * ErrCtxDeadlineExceeded after `ms`) without a derived AbortController. A proposal made one per put,
 * and creating an AbortSignal and its listeners was a visible share of a put's CPU.
 */
export class Deadline {
  /** The error the context ended with, once it has ended. */
  reason: EtcdError | undefined;
  private listeners: Array<(reason: EtcdError) => void> = [];
  private readonly cancelTimer: () => void;
  private readonly onParent: (() => void) | undefined;

  constructor(
    private readonly parent: ContextSignal | undefined,
    ms: number,
    clock?: Pick<Clock, "after">,
  ) {
    const expire = () => this.end(ErrCtxDeadlineExceeded);
    this.cancelTimer = clock ? clock.after(Math.max(0, ms), expire) : plainTimer(Math.max(0, ms), expire);
    if (parent?.aborted) this.reason = contextError(parent);
    else if (parent) {
      const onParent = () => this.end(contextError(parent));
      this.onParent = onParent;
      parent.addEventListener("abort", onParent, { once: true });
    }
  }

  /** Runs `f` once with the context's error when it ends (at once if it has); returns its dispose. */
  onEnd(f: (reason: EtcdError) => void): () => void {
    if (this.reason) {
      f(this.reason);
      return () => undefined;
    }
    this.listeners.push(f);
    return () => {
      const i = this.listeners.indexOf(f);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Stops the timer and the link to the parent (call once the wait is over). */
  done(): void {
    this.cancelTimer();
    if (this.onParent) this.parent!.removeEventListener("abort", this.onParent);
  }

  private end(reason: EtcdError): void {
    if (this.reason) return;
    this.reason = reason;
    const ls = this.listeners;
    this.listeners = [];
    for (const f of ls) f(reason);
  }
}

/** A ref'd timer (the system clock's are unref'd): it keeps a waiting caller's process alive. Returns its cancel. */
function plainTimer(ms: number, f: () => void): () => void {
  const t = setTimeout(f, ms);
  return () => clearTimeout(t);
}

/** Runs `onAbort` once if `signal` aborts before `dispose` is called; returns `dispose`. */
export function onAbort(signal: ContextSignal | undefined, f: () => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    f();
    return () => undefined;
  }
  signal.addEventListener("abort", f, { once: true });
  return () => signal.removeEventListener("abort", f);
}

/** `p`, or a rejection with `error()` as soon as `signal` aborts (`p` keeps running; its result is dropped). */
export function untilAborted<T>(p: Promise<T>, signal: ContextSignal | undefined, error: () => Error = () => contextError(signal!)): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const dispose = onAbort(signal, () => reject(error()));
    p.then(
      (v) => {
        dispose();
        resolve(v);
      },
      (e: unknown) => {
        dispose();
        reject(e);
      },
    );
  });
}
