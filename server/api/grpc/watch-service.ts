import type { ServerCall } from "../../grpcwire/server-call.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import type { WatchService, WatchSession, WireWatchRequest, WireWatchResponse } from "../../etcdserver/requests/watch-session.js";
import { requestContext } from "../../etcdserver/requests/context.js";
import { ErrStopped } from "../../pb/errors.js";
import { toStatus } from "./errors.js";
import { streamSignal } from "./call-context.js";
import { credentialsOf } from "./credentials.js";
import { streamHandler, type ServiceHandlers } from "./handlers.js";

/** How many responses may wait to reach the connection before a stream's watchers are held back (etcd's chanBufLen). */
const STREAM_BUFFER = 128;

export function watchService(watch: WatchService, metrics: ServerMetrics): ServiceHandlers {
  const labels = { grpc_type: "bidi_stream", grpc_service: "etcdserverpb.Watch", grpc_method: "Watch" };
  return {
    Watch: streamHandler((call: ServerCall<WireWatchRequest, WireWatchResponse>) => {
      metrics.grpcStarted.inc(labels);
      let session: WatchSession;
      try {
        session = watch.session(requestContext(streamSignal(call), credentialsOf(call)), {
          write: (r) => void call.write(r),
          writeEncoded: (r) => void call.writeMessage(r),
          writable: () => call.pendingWrites < STREAM_BUFFER,
        });
      } catch {
        // the server is stopping
        metrics.grpcHandled.inc({ ...labels, grpc_code: "Unavailable" });
        call.fail(toStatus(ErrStopped));
        return;
      }
      call.onMessage = (req) => session.handle(req);
      call.onDrain = () => session.drained();
      // A client half-close does not end the stream: etcd keeps sending until the client cancels.
      call.onDone(() => {
        session.close();
        metrics.grpcHandled.inc({ ...labels, grpc_code: "Canceled" });
      });
    }),
  };
}
