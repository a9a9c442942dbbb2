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

/** Where a Kubernetes stack's auth Job runs and reads its passwords (Secret keys = the user names). */
export interface KubernetesAuthOutput {
  readonly how: "kubernetes";
  readonly job: string;
  readonly secret: string;
  readonly namespace: string;
  /** The command that makes the Secret from this machine's variables and files. */
  readonly make_secret: string;
}

/**
 * The `auth` output: the auth file and its user names (never a password), or `enabled: false`. Docker
 * stacks: `etcdkit deploy` applies it; Kubernetes stacks: the Job does, once its Secret exists.
 */
export function authOutput(stack: TerraformStack, authFile: string | undefined, users: readonly string[], k8s?: KubernetesAuthOutput): TerraformOutput {
  return new TerraformOutput(stack, "auth", {
    value: authFile ? { enabled: true, file: authFile, users: [...users], ...(k8s ?? {}) } : { enabled: false },
    description: !authFile
      ? "auth is not turned on by the kit"
      : k8s
        ? `the Job ${k8s.job} applies the auth file once the Secret ${k8s.secret} (keys: the user names) exists: make_secret makes it`
        : "auth file applied by etcdkit deploy once the members are healthy (passwords stay in the variables and files it names)",
  });
}
