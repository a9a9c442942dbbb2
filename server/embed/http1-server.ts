import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { ListenerTimeouts } from "./listener-limits.js";

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The HTTP/1 server behind a listener. It never listens itself (the listener hands it connections), so Node's
 * periodic check that enforces headersTimeout, which starts on "listening", is started here by emitting that
 * event. requestTimeout stays off: it would also end the gateway's streaming bodies (watch, lease keepalive),
 * which may stay open for hours; bodies get their own deadline (withBodyDeadline).
 */
export function createHttp1Server(handler: HttpHandler, t: ListenerTimeouts): Server {
  const http = createServer(
    {
      keepAlive: true,
      headersTimeout: t.headersMs,
      requestTimeout: 0,
      keepAliveTimeout: t.keepAliveIdleMs,
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(t.headersMs / 4))),
    },
    handler,
  );
  http.emit("listening");
  return http;
}

/**
 * A request whose body is not complete `bodyMs` after its headers gets 408 and its connection closed (a slow or
 * stalled upload would otherwise hold the connection and the handler forever). Paths in `exempt` (streaming
 * gateway routes whose body is a stream of requests) have no deadline.
 */
export function withBodyDeadline(handler: HttpHandler, bodyMs: number, exempt: ReadonlySet<string>): HttpHandler {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (!exempt.has(path) && !req.complete) {
      const timer = setTimeout(() => {
        if (req.complete) return;
        if (res.headersSent) {
          req.socket.destroy();
          return;
        }
        res.writeHead(408, { connection: "close", "content-type": "text/plain; charset=utf-8" });
        res.end("request body timed out\n", () => req.socket.destroy());
      }, bodyMs);
      const clear = () => clearTimeout(timer);
      req.once("end", clear);
      req.once("close", clear);
    }
    handler(req, res);
  };
}
