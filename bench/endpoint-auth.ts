/**
 * Which auth token the benchmark sends to which endpoint, for a cluster with auth on: `token` metadata
 * on gRPC (grpc-js channels and the HTTP/2 load generator), the Authorization header on the JSON
 * gateway. One Authenticate per cluster, as clientv3 does: the token is good on every member (the
 * Authenticate goes through Raft). Load generator processes get the token in their job.
 */
import { AuthClient, type Credentials } from "../ansible-free-scripts/auth/auth-client.js";
import { parseEndpoints } from "../ansible-free-scripts/backup/snapshot-client.js";
import { tlsFilesFor } from "./endpoint-tls.js";

export type { Credentials };

const byOrigin = new Map<string, string>();

function origin(endpoint: string): string {
  const u = new URL(endpoint.includes("://") ? endpoint : `http://${endpoint}`);
  return `${u.protocol}//${u.host}`;
}

/** Registers `token` for these endpoints (undefined: forgets them). */
export function registerEndpointToken(endpoints: readonly string[], token: string | undefined): void {
  for (const e of endpoints) {
    if (token) byOrigin.set(origin(e), token);
    else byOrigin.delete(origin(e));
  }
}

export function tokenFor(endpoint: string): string | undefined {
  return byOrigin.get(origin(endpoint));
}

/** Authenticates at the first endpoint that answers (with the endpoints' registered TLS files) and registers the token for all. */
export async function authenticateEndpoints(endpoints: readonly string[], creds: Credentials, timeoutMs = 10_000): Promise<string> {
  const failures: string[] = [];
  for (const e of endpoints) {
    const t = tlsFilesFor(e);
    const tls = t ? { cacert: t.ca, cert: t.cert, key: t.key } : {};
    const [ep] = parseEndpoints([e], tls);
    const c = new AuthClient(ep!, tls, timeoutMs);
    try {
      const token = await c.authenticate(creds);
      registerEndpointToken(endpoints, token);
      return token;
    } catch (err) {
      failures.push(`${e}: ${(err as Error).message}`);
    } finally {
      c.close();
    }
  }
  throw new Error(`cannot authenticate as ${creds.user}: ${failures.join("; ")}`);
}
