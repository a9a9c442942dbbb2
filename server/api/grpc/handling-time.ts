import type { Histogram } from "prom-client";
import type { CallInfo } from "../../grpcwire/server-call.js";
import type { CallKind } from "../../grpcwire/method.js";
import type { MethodHandler } from "./handlers.js";

type Labels = "grpc_type" | "grpc_service" | "grpc_method";

/**
 * grpc_server_handling_seconds (etcd's --metrics=extensive): the time from a call's start to its status, or to
 * the client's cancel, under go-grpc-prometheus's labels.
 */
export function timeHandling(histogram: Histogram<Labels>, path: string, kind: CallKind, h: MethodHandler, now: () => number = () => performance.now()): MethodHandler {
  const slash = path.lastIndexOf("/");
  const labels = { grpc_type: kind, grpc_service: path.slice(1, slash), grpc_method: path.slice(slash + 1) };
  const observe = (call: CallInfo) => {
    const started = now();
    call.onDone(() => histogram.observe(labels, (now() - started) / 1000));
  };
  if ("unary" in h) {
    const next = h.unary;
    return {
      unary: (call, req) => {
        observe(call);
        next(call, req);
      },
    };
  }
  const next = h.stream;
  return {
    stream: (call) => {
      observe(call);
      next(call);
    },
  };
}
