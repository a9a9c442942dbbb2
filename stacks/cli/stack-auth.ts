/**
 * ETCDKIT_AUTH_FILE on a Docker stack: after `cdktf deploy` succeeded, wait for the stack's members to
 * be healthy (from this machine, on their published client ports, with the stack's root client
 * certificate when TLS) and apply the auth file there (ansible-free-scripts/auth). Its passwords are
 * read now, on this machine, from the variables and files it names; they are never in the synth.
 */
import { waitFor, isHealthy } from "../../ansible-free-scripts/common/health.js";
import { loadAuthFile, resolvePasswords, type AuthSpec } from "../../ansible-free-scripts/auth/auth-file.js";
import { applyAuth } from "../../ansible-free-scripts/auth/auth-apply.js";
import type { TopologyPlan } from "../../topology/index.js";

/** Reads the file and every password before cdktf runs, so a missing one stops the deploy before any change. */
export function prepareStackAuth(authFile: string | undefined, env: NodeJS.ProcessEnv): AuthSpec | undefined {
  if (authFile === undefined) return undefined;
  const spec = loadAuthFile(authFile);
  resolvePasswords(spec, env);
  return spec;
}

export async function applyStackAuth(spec: AuthSpec, plan: TopologyPlan, env: NodeJS.ProcessEnv, log: (line: string) => void, timeoutMs = 120_000): Promise<void> {
  const tls = plan.clientTls;
  const files = tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : undefined;
  log(`${plan.stackName}: waiting for ${plan.endpoints.length} member(s) to report healthy before applying ${spec.source}`);
  await Promise.all(plan.endpoints.map((u) => waitFor(() => isHealthy(u, 1000, files), timeoutMs, `${u}/health`)));
  await applyAuth(spec, { endpoints: plan.endpoints, tls: tls ? { cacert: tls.ca, cert: tls.cert, key: tls.key } : {}, env, log });
}
