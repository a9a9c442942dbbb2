/**
 * etcd's accessController in front of the client port's HTTP side (embed/serve.go): the host
 * whitelist against DNS rebinding (--host-whitelist; etcd-ts serves plain HTTP only, so it always
 * applies), CORS headers (--cors), and an empty 200 to any OPTIONS request. gRPC does not pass here.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../log/logger.js";
import type { HttpHandler } from "./http1-server.js";

export interface AccessPolicy {
  /** Allowed origins; empty or containing "*": all. */
  readonly cors: readonly string[];
  /** Allowed Host names (no port); empty or containing "*": all. */
  readonly hostWhitelist: readonly string[];
}

const allowsAll = (list: readonly string[]) => list.length === 0 || list.includes("*");

/** Go's httputil.GetHostname: the Host header without its port (the whole header if it has none). */
export function hostnameOf(host: string): string {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):\d*$/.exec(host);
  if (!m) return host;
  return m[1] ?? m[2]!;
}

export function accessControlled(policy: AccessPolicy, logger: Logger, next: HttpHandler): HttpHandler {
  const hosts = new Set(policy.hostWhitelist);
  const origins = new Set(policy.cors);
  return (req: IncomingMessage, res: ServerResponse) => {
    if (!allowsAll(policy.hostWhitelist)) {
      const host = hostnameOf(req.headers.host ?? "");
      if (!hosts.has(host)) {
        logger.warn({ host }, "rejecting HTTP request to prevent DNS rebinding attacks");
        res.writeHead(421, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
        res.end(rebindingRefusal(host) + "\n");
        return;
      }
    }
    const origin = req.headers.origin;
    if (allowsAll(policy.cors)) addCorsHeaders(res, "*");
    else if (origin !== undefined && origins.has(origin)) addCorsHeaders(res, origin);
    if (req.method === "OPTIONS") {
      res.writeHead(200);
      res.end();
      return;
    }
    next(req, res);
  };
}

function addCorsHeaders(res: ServerResponse, origin: string): void {
  res.setHeader("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE");
  res.setHeader("Access-Control-Allow-Origin", origin);
  res.setHeader("Access-Control-Allow-Headers", "accept, content-type, authorization");
}

/** etcd's errCVE20185702 text, word for word. */
export function rebindingRefusal(host: string): string {
  return `
etcd received your request, but the Host header was unrecognized.

To fix this, choose one of the following options:
- Enable TLS, then any HTTPS request will be allowed.
- Add the hostname you want to use to the whitelist in settings.
  - e.g. etcd --host-whitelist ${JSON.stringify(host)}

This requirement has been added to help prevent "DNS Rebinding" attacks (CVE-2018-5702).
`;
}
