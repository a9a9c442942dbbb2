import type { CallInfo } from "../../grpcwire/server-call.js";
import { identityOfSession } from "../../tls/identity.js";

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
export function credentialsOf(call: CallInfo): CallCredentials {
  const token = nonEmpty(call.metadata("token")) ?? nonEmpty(call.metadata("authorization"));
  const cn = identityOfSession(call.session)?.commonName;
  const out: CallCredentials = {};
  if (token) out.token = token;
  if (cn) out.certCommonName = cn;
  return out;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}
