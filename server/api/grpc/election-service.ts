import type { ServerWritableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { requestContext } from "../../etcdserver/requests/context.js";
import type { Int64, WireLeaderKey, WireLeaderResponse } from "../../pb/wire.js";
import type { ElectionService } from "../../etcdserver/requests/services.js";
import { grpcCodeName, toServiceError } from "./errors.js";
import { credentialsOf } from "./credentials.js";
import { unary } from "./unary.js";

export function electionService(h: ElectionService, metrics: ServerMetrics): UntypedServiceImplementation {
  const svc = "v3electionpb.Election";
  const labels = { grpc_type: "server_stream", grpc_service: svc, grpc_method: "Observe" };
  return {
    Campaign: unary(metrics, svc, "Campaign", (ctx, r: { name: Buffer; lease: Int64; value: Buffer }) => h.campaign(ctx, r)),
    Proclaim: unary(metrics, svc, "Proclaim", (ctx, r: { leader: WireLeaderKey | null; value: Buffer }) => h.proclaim(ctx, r)),
    Leader: unary(metrics, svc, "Leader", (ctx, r: { name: Buffer }) => h.leader(ctx, r)),
    Resign: unary(metrics, svc, "Resign", (ctx, r: { leader: WireLeaderKey | null }) => h.resign(ctx, r)),
    Observe: (call: ServerWritableStream<{ name: Buffer }, WireLeaderResponse>) => {
      metrics.grpcStarted.inc(labels);
      const ac = new AbortController();
      call.once("cancelled", () => ac.abort());
      void (async () => {
        try {
          for await (const resp of h.observe(requestContext(ac.signal, credentialsOf(call)), call.request)) {
            if (ac.signal.aborted) break;
            // etcd sends from an unbuffered channel: a slow observer holds the recipe back
            if (!call.write(resp)) await new Promise<void>((r) => { call.once("drain", r); ac.signal.addEventListener("abort", () => r(), { once: true }); });
          }
          metrics.grpcHandled.inc({ ...labels, grpc_code: ac.signal.aborted ? "Canceled" : "OK" });
          if (!ac.signal.aborted) call.end();
        } catch (e) {
          metrics.grpcHandled.inc({ ...labels, grpc_code: grpcCodeName(e) });
          call.emit("error", toServiceError(e));
        }
      })();
    },
  };
}
