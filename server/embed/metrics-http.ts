import type { IncomingMessage, ServerResponse } from "node:http";
import type { HttpHandler } from "./http1-server.js";

/**
 * What a --listen-metrics-urls listener serves, as etcd's etcdhttp.HandleMetricsHealth on its own mux: /metrics and
 * /health (answered by the client port's handlers), everything else Go's ServeMux 404. /health takes GET only.
 */
export function metricsHttpHandler(clientHttp: HttpHandler): HttpHandler {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") return clientHttp(req, res);
    if (path === "/health") {
      if (req.method !== "GET") return goError(res, 405, "Method Not Allowed", { allow: "GET" });
      return clientHttp(req, res);
    }
    goError(res, 404, "404 page not found");
  };
}

/** Go's http.Error. */
function goError(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
  res.end(text + "\n");
}
