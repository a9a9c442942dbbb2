import type { ServerMetrics } from "../../metrics/metrics.js";
import type { ServerCall } from "../../grpcwire/server-call.js";
import { requestContext, type RequestContext } from "../../etcdserver/requests/context.js";
import { grpcCodeName, toStatus } from "./errors.js";
import { credentialsOf } from "./credentials.js";
import { streamSignal } from "./call-context.js";
import { unaryHandler, type MethodHandler } from "./handlers.js";

/**
 * Serves a request-layer generator as a gRPC server stream, counted under etcd's grpc_server_* series: each message
 * written as it comes, waiting for the client to drain (a slow client holds the generator back rather than piling
 * messages up in memory: etcd's Snapshot and Observe send from unbuffered channels); the generator's context ends
 * when the client goes away, and an error it throws ends the stream with etcd's status. The call's token or
 * certificate CN goes with it (a Snapshot is root's when auth is on).
 */
export function serverStream<Req, Res>(metrics: ServerMetrics, service: string, method: string, fn: (ctx: RequestContext, req: Req) => AsyncGenerator<Res>): MethodHandler {
  const labels = { grpc_type: "server_stream", grpc_service: service, grpc_method: method };
  return unaryHandler((call: ServerCall<Req, Res>, req: Req): void => {
    metrics.grpcStarted.inc(labels);
    const signal = streamSignal(call);
    let drained: (() => void) | undefined;
    call.onDrain = () => {
      const d = drained;
      drained = undefined;
      d?.();
    };
    call.onCancel(() => call.onDrain?.());
    void (async () => {
      try {
        for await (const msg of fn(requestContext(signal, credentialsOf(call)), req)) {
          if (signal.aborted) break;
          if (!call.write(msg)) await new Promise<void>((r) => (drained = r));
        }
        metrics.grpcHandled.inc({ ...labels, grpc_code: signal.aborted ? "Canceled" : "OK" });
        call.end();
      } catch (e) {
        metrics.grpcHandled.inc({ ...labels, grpc_code: signal.aborted ? "Canceled" : grpcCodeName(e) });
        call.fail(toStatus(e));
      }
    })();
  });
}
