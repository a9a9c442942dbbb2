import type { Metadata } from "@grpc/grpc-js";
import { peerIdentity } from "../../tls/identity.js";

/** What a gRPC call carries of its caller's credentials (the request layer checks them: etcdserver/requests/access.ts). */
export interface CallCredentials {
  token?: string;
  certCommonName?: string;
}

/**
 * etcd's AuthInfoFromCtx reads metadata `token`, else `authorization` (rpctypes TokenFieldNameGRPC,
 * TokenFieldNameSwagger); the certificate's common name is the one the client listener verified for
 * this call's connection (server/tls/identity.ts; used only with --client-cert-auth, when no token is given).
 */
export function credentialsOf(call: { metadata: Metadata; getPeer(): string }): CallCredentials {
  const token = first(call.metadata, "token") ?? first(call.metadata, "authorization");
  const cn = peerIdentity(call)?.commonName;
  const out: CallCredentials = {};
  if (token) out.token = token;
  if (cn) out.certCommonName = cn;
  return out;
}

function first(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === "string" && v !== "" ? v : undefined;
}
