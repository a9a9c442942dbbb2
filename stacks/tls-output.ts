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
