/**
 * Deadlines of unary calls, answered the way etcd answers them.
 *
 * grpc-js ends a call whose `grpc-timeout` passes with DEADLINE_EXCEEDED, written by the server.
 * clientv3 retries an RPC that fails with DEADLINE_EXCEEDED or CANCELLED on another member while
 * its own context has not expired yet, writes included; a Put waiting on an isolated member and
 * answered that way a moment before the client's own timer fires is sent again elsewhere, and
 * applied twice once the first member's proposal commits after the partition heals. etcd never
 * sends these codes: when a request's context ends it answers with its own errors ("etcdserver:
 * request timed out", Unavailable; "context deadline exceeded", Unknown; ...), which clientv3 does
 * not retry for writes.
 *
 * So every unary call gets a context (an AbortSignal, see etcdserver/request-context.ts), and
 * grpc-js's deadline never reaches the wire: its timer calls `sendStatus` on the base call, which
 * this interceptor (the first of the server's, so it is handed the base call) replaces with one that
 * turns that DEADLINE_EXCEEDED into aborting the context with ErrCtxDeadlineExceeded. The handler,
 * waiting on raft, stops and answers etcd's error at once; one that has not answered by the next
 * turn of the event loop gets ErrCtxDeadlineExceeded, what etcd's gRPC server sends for a Go context
 * error. As with etcd, the answer leaves at the deadline, so a client usually reports its own
 * timeout first. A client that goes away aborts the context with ErrCtxCanceled (nothing is sent:
 * the stream is gone). Streaming calls are left alone.
 */
import * as grpc from "@grpc/grpc-js";
import type { Metadata } from "@grpc/grpc-js";
import { ErrCtxCanceled, ErrCtxDeadlineExceeded } from "../../pb/errors.js";
import { LazySignal } from "../../etcdserver/requests/context.js";

/** The context of each guarded call, by its request metadata (the object the handler receives). */
const contexts = new WeakMap<Metadata, LazySignal>();

/** The call's context, if the deadline guard saw the call (an AbortSignal is made only if asked for). */
export function requestSignal(metadata: Metadata): LazySignal | undefined {
  return contexts.get(metadata);
}

export function deadlineGuard(): grpc.ServerInterceptor {
  return (method, call) => {
    if (method.requestStream || method.responseStream) return new grpc.ServerInterceptingCall(call);
    const ac = new LazySignal();
    let answered = false;
    let fromHandler = false;
    let fallback = false;

    const expire = () => {
      if (answered) return;
      if (!ac.aborted) ac.abort(ErrCtxDeadlineExceeded);
      if (fallback) return;
      fallback = true;
      // The handler answers from its abort listeners within this turn; if it did not, etcd's text.
      setImmediate(() => {
        if (!answered) guarded.sendStatus({ code: grpc.status.UNKNOWN, details: ErrCtxDeadlineExceeded.message });
      });
    };

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
            contexts.set(metadata, ac);
            nxt(metadata);
          },
          onCancel: () => {
            if (answered) return;
            answered = true;
            ac.abort(ErrCtxCanceled);
          },
        }),
      // A response on its way counts as the answer: its status follows once the message is written.
      sendMessage: (message, next) => {
        answered = true;
        next(message);
      },
      sendStatus: (status, next) => {
        answered = true;
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
