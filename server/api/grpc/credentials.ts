import type { Metadata } from "@grpc/grpc-js";
import type { PeerCertificate } from "node:tls";

/** grpc-js' AuthContext (not exported from the package root). */
interface AuthContext {
  readonly sslPeerCertificate?: PeerCertificate;
}

/** What a gRPC call carries of its caller's credentials (the request layer checks them: etcdserver/requests/access.ts). */
export interface CallCredentials {
  token?: string;
  certCommonName?: string;
}

/**
 * etcd's AuthInfoFromCtx reads metadata `token`, else `authorization` (rpctypes TokenFieldNameGRPC,
 * TokenFieldNameSwagger); the certificate's common name is the TLS peer's (used only with
 * --client-cert-auth, when no token is given).
 */
export function credentialsOf(call: { metadata: Metadata; getAuthContext?: () => AuthContext }): CallCredentials {
  const token = first(call.metadata, "token") ?? first(call.metadata, "authorization");
  let cn: string | undefined;
  try {
    const cert = call.getAuthContext?.()?.sslPeerCertificate;
    const subjectCn = cert?.subject?.CN;
    cn = Array.isArray(subjectCn) ? subjectCn[0] : subjectCn;
  } catch {
    cn = undefined; // no TLS session
  }
  const out: CallCredentials = {};
  if (token) out.token = token;
  if (cn) out.certCommonName = cn;
  return out;
}

function first(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === "string" && v !== "" ? v : undefined;
}
