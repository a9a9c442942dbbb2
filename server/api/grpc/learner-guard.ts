import { Code } from "../../grpcwire/status.js";
import type { MethodHandler } from "./handlers.js";

/** What the guard asks of the member. */
export interface LearnerView {
  isLearner(): boolean;
}

export const NOT_SUPPORTED_FOR_LEARNER = "etcdserver: rpc not supported for learner";
const REFUSED = { code: Code.UNAVAILABLE, message: NOT_SUPPORTED_FOR_LEARNER } as const;

/** What a learner answers, as etcd's isRPCSupportedForLearner: Status, and Range when serializable. */
function supportedForLearner(path: string, message: unknown): boolean {
  if (path === "/etcdserverpb.Maintenance/Status") return true;
  if (path === "/etcdserverpb.KV/Range") return !!(message as { serializable?: boolean } | null)?.serializable;
  return false;
}

/**
 * A learner is not a voter: like etcd, it refuses every other RPC with UNAVAILABLE, before any handler runs (a
 * stream as it opens). A voter pays one isLearner() per call.
 */
export function learnerGuard(server: LearnerView, path: string, h: MethodHandler): MethodHandler {
  if ("unary" in h) {
    const next = h.unary;
    return {
      unary: (call, req) => {
        if (server.isLearner() && !supportedForLearner(path, req)) return call.fail(REFUSED);
        next(call, req);
      },
    };
  }
  const next = h.stream;
  return {
    stream: (call) => {
      if (server.isLearner()) return call.fail(REFUSED);
      next(call);
    },
  };
}
