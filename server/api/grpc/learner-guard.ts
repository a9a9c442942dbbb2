import * as grpc from "@grpc/grpc-js";

/** What the guard asks of the member. */
export interface LearnerView {
  isLearner(): boolean;
}

export const NOT_SUPPORTED_FOR_LEARNER = "etcdserver: rpc not supported for learner";

/** What a learner answers, as etcd's isRPCSupportedForLearner: Status, and Range when serializable. */
function supportedForLearner(path: string, message: unknown): boolean {
  if (path === "/etcdserverpb.Maintenance/Status") return true;
  if (path === "/etcdserverpb.KV/Range") return !!(message as { serializable?: boolean } | null)?.serializable;
  return false;
}

/**
 * A learner is not a voter: like etcd, it refuses every other RPC with UNAVAILABLE, before any handler runs.
 * A member that is a voter when a call starts stays one (etcd has no way back from voter to learner:
 * a learner is added as a new member and only promoted), so the call is handed on as it is, without a
 * layer that would look at its message: one interceptor less on every call of a voter.
 */
export function learnerGuard(server: LearnerView): grpc.ServerInterceptor {
  return (method, call) => {
    if (!server.isLearner()) return call as grpc.ServerInterceptingCall;
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message, nxt) => {
            if (server.isLearner() && !supportedForLearner(method.path, message)) {
              call.sendStatus({ code: grpc.status.UNAVAILABLE, details: NOT_SUPPORTED_FOR_LEARNER });
              return;
            }
            nxt(message);
          },
        }),
    });
  };
}
