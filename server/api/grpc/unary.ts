import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { grpcCodeName, toServiceError } from "./errors.js";

/** Adapts an async handler to grpc-js, counting calls under etcd's grpc_server_* series. */
export function unary<Req, Res>(metrics: ServerMetrics, service: string, method: string, fn: (req: Req) => Promise<Res>) {
  const labels = { grpc_type: "unary", grpc_service: service, grpc_method: method };
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    metrics.grpcStarted.inc(labels);
    fn(call.request).then(
      (res) => {
        metrics.grpcHandled.inc({ ...labels, grpc_code: "OK" });
        callback(null, res);
      },
      (err: unknown) => {
        metrics.grpcHandled.inc({ ...labels, grpc_code: grpcCodeName(err) });
        callback(toServiceError(err) as Parameters<sendUnaryData<Res>>[0]);
      },
    );
  };
}

/**
 * `unary` for handlers that may wait (Lock, Campaign): they get the caller's context as a signal,
 * aborted when the client cancels or goes away, so they stop waiting and clean up as etcd's do.
 */
export function waitingUnary<Req, Res>(metrics: ServerMetrics, service: string, method: string, fn: (req: Req, signal: AbortSignal) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const ac = new AbortController();
    call.once("cancelled", () => ac.abort());
    unary<Req, Res>(metrics, service, method, (req) => fn(req, ac.signal))(call, callback);
  };
}
