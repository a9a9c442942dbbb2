/**
 * Deadlines of unary calls, answered the way etcd answers them.
 *
 * grpc-js ends a call whose `grpc-timeout` passes with DEADLINE_EXCEEDED, written by the server.
 * clientv3 retries an RPC that fails with DEADLINE_EXCEEDED or CANCELLED on another member while
 * its own context has not expired yet, writes included; a Put waiting on an isolated member and
 * answered that way a moment before the client's own timer fires is sent again elsewhere, and
 * applied twice once the first member's proposal commits after the partition heals. etcd never
 * sends these codes: it answers a request whose context ends with its own errors
 * ("etcdserver: request timed out", Unavailable; "context deadline exceeded", Unknown; ...), which
 * clientv3 does not retry for writes.
 *
 * So every unary call gets a context (an AbortSignal, see etcdserver/request-context.ts) that
 * aborts MARGIN_MS before the deadline; the handler, waiting on raft, stops and answers etcd's
 * error. grpc-js's own DEADLINE_EXCEEDED is never sent: its deadline timer calls `sendStatus` on the
 * base call, which this interceptor (the first of the server's, so it wraps the base call) replaces
 * with one that turns that status into the same abort; a handler that has not answered by the next
 * turn of the event loop gets ErrCtxDeadlineExceeded, what etcd's gRPC server sends for a Go
 * context error. A client that goes away aborts the context with ErrCtxCanceled (nothing is sent:
 * the stream is gone). Streaming calls are left alone.
 */
import * as grpc from "@grpc/grpc-js";
import type { Metadata } from "@grpc/grpc-js";
import { ErrCtxCanceled, ErrCtxDeadlineExceeded } from "../../pb/errors.js";

/** How long before the caller's deadline a pending call is answered (at most a quarter of its time). */
export const MARGIN_MS = 20;

/** The context of each guarded call, by its request metadata (the object the handler receives). */
const contexts = new WeakMap<Metadata, AbortSignal>();

/** The call's context, if the deadline guard saw the call. */
export function requestSignal(metadata: Metadata): AbortSignal | undefined {
  return contexts.get(metadata);
}

function deadlineMs(call: grpc.ServerInterceptingCallInterface): number {
  const d = call.getDeadline();
  return d instanceof Date ? d.getTime() : d;
}

export interface DeadlineGuardOptions {
  /** Abort MARGIN_MS before the deadline (default). Off: only when grpc-js's own timer fires (tests use it to reach that path). */
  readonly answerEarly?: boolean;
}

export function deadlineGuard(o: DeadlineGuardOptions = {}): grpc.ServerInterceptor {
  return (method, call) => {
    if (method.requestStream || method.responseStream) return new grpc.ServerInterceptingCall(call);
    const ac = new AbortController();
    let answered = false;
    let fromHandler = false;
    let fallback = false;
    let timer: NodeJS.Timeout | undefined;

    const expire = () => {
      if (answered) return;
      if (!ac.signal.aborted) ac.abort(ErrCtxDeadlineExceeded);
      if (fallback) return;
      fallback = true;
      // The handler answers from its abort listeners within this turn; if it did not, etcd's text.
      setImmediate(() => {
        if (!answered) guarded.sendStatus({ code: grpc.status.UNKNOWN, details: ErrCtxDeadlineExceeded.message });
      });
    };

    const deadline = deadlineMs(call);
    if (Number.isFinite(deadline) && o.answerEarly !== false) {
      const left = deadline - Date.now();
      timer = setTimeout(expire, Math.max(0, left - Math.min(MARGIN_MS, left / 4)));
    }

    // grpc-js's deadline timer sends DEADLINE_EXCEEDED through the base call: turn it into `expire`.
    const sendToBase = call.sendStatus.bind(call);
    call.sendStatus = (status) => {
      if (!fromHandler && status.code === grpc.status.DEADLINE_EXCEEDED) {
        expire();
        return;
      }
      sendToBase(status);
    };

    const guarded: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nxt) => {
            contexts.set(metadata, ac.signal);
            nxt(metadata);
          },
          onCancel: () => {
            clearTimeout(timer);
            if (answered) return;
            answered = true;
            ac.abort(ErrCtxCanceled);
          },
        }),
      // A response on its way counts as the answer: its status follows once the message is written.
      sendMessage: (message, next) => {
        answered = true;
        clearTimeout(timer);
        next(message);
      },
      sendStatus: (status, next) => {
        answered = true;
        clearTimeout(timer);
        fromHandler = true;
        try {
          next(status);
        } finally {
          fromHandler = false;
        }
      },
    });
    return guarded;
  };
}
