import type { IncomingMessage } from "node:http";

/**
 * The token of a gateway request: its `Authorization` header, as it is (etcd's grpc-gateway forwards
 * it as gRPC metadata `authorization`, which etcd reads as the token). The gateway never passes a
 * certificate's common name: etcd's gateway dials the member with the member's own certificate, and
 * while auth is on its access controller refuses a gateway request whose client certificate has a
 * common name (embed/access-control.ts does the same).
 */
export function gatewayCredentials(req: IncomingMessage): { token?: string } {
  const h = req.headers.authorization;
  return typeof h === "string" && h !== "" ? { token: h } : {};
}
