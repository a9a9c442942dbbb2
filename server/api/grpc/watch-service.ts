import type { ServerDuplexStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import type { WatchService, WatchSession, WireWatchRequest, WireWatchResponse } from "../../etcdserver/requests/watch-session.js";
import { requestContext } from "../../etcdserver/requests/context.js";
import { ErrStopped } from "../../pb/errors.js";
import { toServiceError } from "./errors.js";
import { streamSignal } from "./unary.js";
import { credentialsOf } from "./credentials.js";

/** How many responses may wait in a gRPC stream's buffer before its watchers are held back (etcd's chanBufLen). */
const STREAM_BUFFER = 128;

export function watchService(watch: WatchService, metrics: ServerMetrics): UntypedServiceImplementation {
  const labels = { grpc_type: "bidi_stream", grpc_service: "etcdserverpb.Watch", grpc_method: "Watch" };
  return {
    Watch: (call: ServerDuplexStream<WireWatchRequest, WireWatchResponse | Buffer>) => {
      metrics.grpcStarted.inc(labels);
      let session: WatchSession;
      try {
        session = watch.session(requestContext(streamSignal(call), credentialsOf(call)), {
            write: (r) => {
              if (!call.destroyed && !call.writableEnded) call.write(r);
            },
            // registered with watchDefinitionPassingBuffers(): a Buffer is sent as is (pb/watch-response.ts)
            writeEncoded: (b) => {
              if (!call.destroyed && !call.writableEnded) call.write(b);
            },
            writable: () => call.writableLength < STREAM_BUFFER,
        });
      } catch {
        // the server is stopping
        metrics.grpcHandled.inc({ ...labels, grpc_code: "Unavailable" });
        call.emit("error", toServiceError(ErrStopped));
        return;
      }
      let ended = false;
      const end = (code: string) => {
        if (ended) return;
        ended = true;
        session.close();
        metrics.grpcHandled.inc({ ...labels, grpc_code: code });
      };
      call.on("data", (req: WireWatchRequest) => session.handle(req));
      call.on("drain", () => session.drained());
      // A client half-close does not end the stream: etcd keeps sending until the client cancels.
      call.on("cancelled", () => end("Canceled"));
      call.on("error", () => end("Unknown"));
      call.on("close", () => end("OK"));
    },
  };
}
