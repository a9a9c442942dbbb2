/**
 * A unary call's context, answered the way etcd answers deadlines and cancels.
 *
 * clientv3 retries an RPC that fails with DEADLINE_EXCEEDED or CANCELLED on another member while its own context
 * has not expired yet, writes included; a Put waiting on an isolated member and answered that way a moment before
 * the client's own timer fires is sent again elsewhere, and applied twice once the first member's proposal commits
 * after the partition heals. etcd never sends these codes: when a request's context ends it answers with its own
 * errors ("etcdserver: request timed out", Unavailable; "context deadline exceeded", Unknown; ...), which clientv3
 * does not retry for writes.
 *
 * So the server sends nothing of its own at the client's grpc-timeout: the deadline aborts the call's context with
 * ErrCtxDeadlineExceeded, the handler (waiting on raft) stops and answers etcd's error at once, and one that has not
 * answered by the next turn of the event loop gets ErrCtxDeadlineExceeded, what etcd's gRPC server sends for a Go
 * context error. As with etcd, the answer leaves at the deadline, so a client usually reports its own timeout first.
 * A client that goes away aborts the context with ErrCtxCanceled (nothing is sent: the stream is gone).
 */
import type { CallInfo } from "../../grpcwire/server-call.js";
import { Code } from "../../grpcwire/status.js";
import { LazySignal } from "../../etcdserver/requests/context.js";
import { ErrCtxCanceled, ErrCtxDeadlineExceeded } from "../../pb/errors.js";

/** Node's timers take at most this; a longer grpc-timeout (over 24 days) never fires here. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The call's context signal (no AbortSignal is made unless something asks) and its deadline timer, if any. */
export function callSignal(call: CallInfo): { signal: LazySignal; timer: NodeJS.Timeout | undefined } {
  const signal = new LazySignal();
  call.onCancel(() => signal.abort(ErrCtxCanceled));
  const ms = call.timeoutMs;
  if (ms === undefined || ms > MAX_TIMER_MS) return { signal, timer: undefined };
  const timer = setTimeout(() => {
    if (call.done) return;
    signal.abort(ErrCtxDeadlineExceeded);
    // The handler answers from its abort listeners within this turn; if it did not, etcd's text.
    setImmediate(() => call.fail({ code: Code.UNKNOWN, message: ErrCtxDeadlineExceeded.message }));
  }, ms);
  return { signal, timer };
}

/** A stream's context: ends when the client goes away. */
export function streamSignal(call: CallInfo): AbortSignal {
  const ac = new AbortController();
  call.onCancel(() => ac.abort(ErrCtxCanceled));
  return ac.signal;
}
