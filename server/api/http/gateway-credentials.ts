import type { IncomingMessage } from "node:http";

/**
 * The token of a gateway request, as etcd's grpc-gateway and AuthInfoFromCtx find it: grpc-gateway
 * forwards `Authorization` (and `Grpc-Metadata-Authorization`) as gRPC metadata `authorization` and
 * `Grpc-Metadata-Token` as metadata `token`; etcd reads `token` first, then `authorization`, each as it is (its first value; a header
 * sent empty is an empty token, which no member issued). The gateway never passes a certificate's
 * common name: etcd's gateway dials the member with the member's own certificate, and while auth is
 * on its access controller refuses a gateway request whose client certificate has a common name
 * (embed/access-control.ts does the same).
 */
export function gatewayCredentials(req: IncomingMessage): { token?: string } {
  // Grpc-Metadata-Authorization is metadata `authorization` too; beside Authorization, Go's header
  // map order decides which etcd reads first: Authorization first here (one of etcd's outcomes)
  const token = firstValue(req, "grpc-metadata-token") ?? firstValue(req, "authorization") ?? firstValue(req, "grpc-metadata-authorization");
  return token === undefined ? {} : { token };
}

function firstValue(req: IncomingMessage, name: string): string | undefined {
  return req.headersDistinct[name]?.[0];
}
