import type { ServerWritableStream } from "@grpc/grpc-js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { requestContext, type RequestContext } from "../../etcdserver/requests/context.js";
import { ErrCtxCanceled } from "../../pb/errors.js";
import { grpcCodeName, toServiceError } from "./errors.js";
import { credentialsOf } from "./credentials.js";

/**
 * Adapts a request-layer generator to a gRPC server stream, counted under etcd's grpc_server_*
 * series: each message written as it comes, waiting for the client to drain (a slow client holds the
 * generator back rather than piling messages up in memory); the generator's context ends when the
 * client goes away, and an error it throws ends the stream with etcd's status. The call's token or
 * certificate CN goes with it (a Snapshot is root's when auth is on).
 */
export function serverStream<Req, Res>(metrics: ServerMetrics, service: string, method: string, fn: (ctx: RequestContext, req: Req) => AsyncGenerator<Res>) {
  const labels = { grpc_type: "server_stream", grpc_service: service, grpc_method: method };
  return (call: ServerWritableStream<Req, Res>): void => {
    metrics.grpcStarted.inc(labels);
    const ac = new AbortController();
    call.once("cancelled", () => ac.abort(ErrCtxCanceled));
    void (async () => {
      try {
        for await (const msg of fn(requestContext(ac.signal, credentialsOf(call)), call.request)) {
          if (ac.signal.aborted) break;
          if (!call.write(msg)) {
            await new Promise<void>((r) => {
              call.once("drain", r);
              ac.signal.addEventListener("abort", () => r(), { once: true });
            });
          }
        }
        metrics.grpcHandled.inc({ ...labels, grpc_code: ac.signal.aborted ? "Canceled" : "OK" });
        if (!ac.signal.aborted) call.end();
      } catch (e) {
        metrics.grpcHandled.inc({ ...labels, grpc_code: ac.signal.aborted ? "Canceled" : grpcCodeName(e) });
        if (!ac.signal.aborted) call.emit("error", toServiceError(e));
      }
    })();
  };
}
