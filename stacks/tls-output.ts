/**
 * The `tls` output of a stack: where a client on the deploying machine finds the CA and the root
 * client certificate (`etcdkit bench --stack-outputs` reads it), or `insecure: true`.
 */
import { TerraformOutput, type TerraformStack } from "cdktf";
import { resolve } from "node:path";
import type { TopologyPlan } from "../topology/index.js";

export function clientTlsOutput(stack: TerraformStack, plan: TopologyPlan): TerraformOutput {
  const t = plan.clientTls;
  return new TerraformOutput(stack, "tls", {
    value: t ? { insecure: false, cacert: resolve(t.ca), cert: resolve(t.cert), key: resolve(t.key) } : { insecure: true },
    description: t ? "etcdctl --cacert/--cert/--key: the stack's CA and root client certificate (from etcdkit pki)" : "the stack runs without TLS (--insecure)",
  });
}

/** The `auth` output: the auth file `etcdkit deploy` applies and its user names (never a password), or `enabled: false`. */
export function authOutput(stack: TerraformStack, authFile: string | undefined, users: readonly string[]): TerraformOutput {
  return new TerraformOutput(stack, "auth", {
    value: authFile ? { enabled: true, file: authFile, users: [...users] } : { enabled: false },
    description: authFile ? "auth file applied by etcdkit deploy once the members are healthy (passwords stay in the variables and files it names)" : "auth is not turned on by the kit",
  });
}
