/**
 * What `cdktf synth` does before declaring the stacks when they run TLS (the default): makes or
 * completes each Docker and Kubernetes stack's PKI with `etcdkit pki`'s code (pki/plan-pki.ts),
 * in `<pkiRoot>/<stack>` (ETCDKIT_PKI_DIR), and stages the Docker members' mount folders
 * (constructs/docker-tls.ts). Re-running keeps every certificate that still fits, so a synth
 * after a deploy changes nothing. A plaintext synth (ETCDKIT_INSECURE=true) says so on stderr.
 */
import { ensurePlanPki } from "../pki/plan-pki.js";
import { stageDockerCertificates } from "./constructs/docker-tls.js";
import { dockerTopology, kubernetesTopology, type StacksOptions } from "./options.js";
import { planTopology, plaintextNotice } from "../topology/index.js";

export async function prepareStackPki(options: StacksOptions, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
  const docker = options.sizes.map((n) => planTopology(dockerTopology(n, options)));
  const k8s = options.kubernetes.sizes.map((n) => planTopology(kubernetesTopology(n, options)));
  for (const plan of [...docker, ...k8s]) {
    if (plan.insecure) {
      log(plaintextNotice(plan.stackName));
      continue;
    }
    const result = await ensurePlanPki(plan);
    const made = result?.entries.filter((e) => e.action !== "kept").length ?? 0;
    if (made > 0) log(`${plan.stackName}: ${made} certificate${made > 1 ? "s" : ""} made in ${plan.clientTls!.pkiDir}`);
    if (plan.target === "docker") stageDockerCertificates(plan);
  }
}
