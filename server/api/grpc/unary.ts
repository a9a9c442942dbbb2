import type { ServerMetrics } from "../../metrics/metrics.js";
import type { ServerCall } from "../../grpcwire/server-call.js";
import { grpcCodeName, toStatus } from "./errors.js";
import { requestContext, type RequestContext } from "../../etcdserver/requests/context.js";
import { credentialsOf } from "./credentials.js";
import { callSignal } from "./call-context.js";
import { unaryHandler, type MethodHandler } from "./handlers.js";
import { trace, TRACING } from "../../util/latency-trace.js";

/**
 * Serves a unary method with an async handler, counting calls under etcd's grpc_server_* series. The handler gets
 * the call's request context (call-context.ts): when it aborts, whatever the handler waits on stops and the handler
 * answers etcd's error for it.
 */
export function unary<Req, Res>(metrics: ServerMetrics, service: string, method: string, fn: (ctx: RequestContext, req: Req) => Promise<Res>): MethodHandler {
  const labels = { grpc_type: "unary", grpc_service: service, grpc_method: method };
  const started = metrics.grpcStartedCounts.counterFor(labels);
  const handledOk = metrics.grpcHandledCounts.counterFor({ ...labels, grpc_code: "OK" });
  return unaryHandler((call: ServerCall<Req, Res>, req: Req): void => {
    started();
    if (TRACING) trace("recv", 0, method);
    const { signal, timer } = callSignal(call);
    fn(requestContext(signal, credentialsOf(call)), req).then(
      (res) => {
        if (timer) clearTimeout(timer);
        handledOk();
        if (TRACING) trace("reply", 0, method);
        call.reply(res);
      },
      (err: unknown) => {
        if (timer) clearTimeout(timer);
        metrics.grpcHandled.inc({ ...labels, grpc_code: grpcCodeName(err) });
        call.fail(toStatus(err));
      },
    );
  });
}
