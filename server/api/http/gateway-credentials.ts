import type { IncomingMessage } from "node:http";

/**
 * The token of a gateway request: its `Authorization` header, as it is (etcd's grpc-gateway forwards
 * it as gRPC metadata `authorization`, which etcd reads as the token). The gateway never passes a
 * certificate's common name: etcd ignores it for gateway requests.
 */
export function gatewayCredentials(req: IncomingMessage): { token?: string } {
  const h = req.headers.authorization;
  return typeof h === "string" && h !== "" ? { token: h } : {};
}
