import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { ErrCtxCanceled } from "../../pb/errors.js";
import { requestSignal } from "./deadline-guard.js";
import { grpcCodeName, toServiceError } from "./errors.js";
import { requestContext, type LazySignal, type RequestContext } from "../../etcdserver/requests/context.js";
import { credentialsOf } from "./credentials.js";
import { trace, TRACING } from "../../util/latency-trace.js";

/** A stream's context: ends when the client goes away. */
export function streamSignal(call: { once(event: "cancelled", f: () => void): unknown }): AbortSignal {
  const ac = new AbortController();
  call.once("cancelled", () => ac.abort(ErrCtxCanceled));
  return ac.signal;
}

/** The call's context: the deadline guard's, or (a call the guard did not see) one that ends when the client goes away. */
function callSignal(call: ServerUnaryCall<unknown, unknown>): AbortSignal | LazySignal {
  return requestSignal(call.metadata) ?? streamSignal(call);
}

/**
 * Adapts an async handler to grpc-js, counting calls under etcd's grpc_server_* series. The handler
 * gets the call's request context, whose signal is the deadline guard's (deadline-guard.ts): when it
 * aborts, whatever the handler waits on stops and the handler answers etcd's error for it.
 */
export function unary<Req, Res>(metrics: ServerMetrics, service: string, method: string, fn: (ctx: RequestContext, req: Req) => Promise<Res>) {
  const labels = { grpc_type: "unary", grpc_service: service, grpc_method: method };
  const started = metrics.grpcStartedCounts.counterFor(labels);
  const handledOk = metrics.grpcHandledCounts.counterFor({ ...labels, grpc_code: "OK" });
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    started();
    if (TRACING) trace("recv", 0, method);
    fn(requestContext(callSignal(call), credentialsOf(call)), call.request).then(
      (res) => {
        handledOk();
        if (TRACING) trace("reply", 0, method);
        callback(null, res);
      },
      (err: unknown) => {
        metrics.grpcHandled.inc({ ...labels, grpc_code: grpcCodeName(err) });
        callback(toServiceError(err) as Parameters<sendUnaryData<Res>>[0]);
      },
    );
  };
}
