import * as grpc from "@grpc/grpc-js";
import type { Histogram } from "prom-client";

type Labels = "grpc_type" | "grpc_service" | "grpc_method";

/** go-grpc-prometheus's grpc_type label. */
function grpcType(m: { requestStream: boolean; responseStream: boolean }): string {
  if (m.requestStream && m.responseStream) return "bidi_stream";
  if (m.requestStream) return "client_stream";
  if (m.responseStream) return "server_stream";
  return "unary";
}

/**
 * grpc_server_handling_seconds (etcd's --metrics=extensive): the time from a call's start to its status, or to
 * the client's cancel, under go-grpc-prometheus's labels.
 */
export function handlingTimeInterceptor(histogram: Histogram<Labels>, now: () => number = () => performance.now()): grpc.ServerInterceptor {
  return (method, call) => {
    const slash = method.path.lastIndexOf("/");
    const labels = { grpc_type: grpcType(method), grpc_service: method.path.slice(1, slash), grpc_method: method.path.slice(slash + 1) };
    const started = now();
    let observed = false;
    const observe = () => {
      if (observed) return;
      observed = true;
      histogram.observe(labels, (now() - started) / 1000);
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: observe }),
      sendStatus: (status, next) => {
        observe();
        next(status);
      },
    });
  };
}
