/**
 * etcd's accessController in front of the client port's HTTP side (embed/serve.go): on a plaintext
 * connection the host whitelist against DNS rebinding (--host-whitelist); on a TLS connection, with
 * --client-cert-auth and auth enabled, a gateway request (/v3/...) from a client whose verified
 * certificate has a common name is refused (etcd's gateway would act without that user: it dials
 * the member with the member's own certificate); then CORS headers (--cors), and an empty 200 to
 * any OPTIONS request. gRPC does not pass here.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../log/logger.js";
import { gatewayPath } from "../api/http/http-api.js";
import { identityOf } from "../tls/identity.js";
import type { HttpHandler } from "./http1-server.js";

export interface AccessPolicy {
  /** Allowed origins; empty or containing "*": all. */
  readonly cors: readonly string[];
  /** Allowed Host names (no port); empty or containing "*": all. */
  readonly hostWhitelist: readonly string[];
}

/** What the gateway's client-certificate refusal depends on. */
export interface GatewayCertPolicy {
  /** --client-cert-auth */
  readonly clientCertAuth: boolean;
  /** Whether auth is enabled now (it changes with AuthEnable / AuthDisable). */
  authEnabled(): boolean;
}

/** etcd's text, word for word (http.Error adds the newline). */
export const GATEWAY_COMMON_NAME_REFUSAL = "CommonName of client sending a request against gateway will be ignored and not used as expected";

const allowsAll = (list: readonly string[]) => list.length === 0 || list.includes("*");
const NO_CERT_POLICY: GatewayCertPolicy = { clientCertAuth: false, authEnabled: () => false };

/** Go's httputil.GetHostname: the Host header without its port (the whole header if it has none). */
export function hostnameOf(host: string): string {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):\d*$/.exec(host);
  if (!m) return host;
  return m[1] ?? m[2]!;
}

export function accessControlled(policy: AccessPolicy, logger: Logger, next: HttpHandler, certs: GatewayCertPolicy = NO_CERT_POLICY): HttpHandler {
  const hosts = new Set(policy.hostWhitelist);
  const origins = new Set(policy.cors);
  return (req: IncomingMessage, res: ServerResponse) => {
    if (!isTls(req)) {
      if (!allowsAll(policy.hostWhitelist)) {
        const host = hostnameOf(req.headers.host ?? "");
        if (!hosts.has(host)) {
          logger.warn({ host }, "rejecting HTTP request to prevent DNS rebinding attacks");
          return plainError(res, 421, rebindingRefusal(host));
        }
      }
    } else if (certs.clientCertAuth && certs.authEnabled() && gatewayPath((req.url ?? "/").split("?")[0]!).startsWith("/v3/")) {
      if ((identityOf(req)?.commonName ?? "") !== "") return plainError(res, 400, GATEWAY_COMMON_NAME_REFUSAL);
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

/** A TLS connection (etcd's req.TLS != nil): the listener hands the HTTP server the TLS socket itself. */
function isTls(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

/** Go's http.Error: the text and a newline, as text/plain with nosniff. */
function plainError(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
  res.end(text + "\n");
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
