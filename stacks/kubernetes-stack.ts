import type { Construct } from "constructs";
import { LocalBackend, TerraformOutput, TerraformStack } from "cdktf";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider/index.js";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1/index.js";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1/index.js";
import { MemberServices } from "./constructs/kubernetes/services.js";
import { MemberStatefulSet } from "./constructs/kubernetes/member-statefulset.js";
import { secretFiles, TlsSecret } from "./constructs/kubernetes/tls-secret.js";
import { podSelector, stackLabels } from "./constructs/kubernetes/labels.js";
import type { StacksOptions } from "./options.js";
import { TopologyError, type TopologyPlan } from "../topology/index.js";
import { authOutput, clientTlsOutput } from "./tls-output.js";
import { AuthJob, authNames } from "./constructs/kubernetes/auth-job.js";
import { loadAuthFile } from "../ansible-free-scripts/auth/auth-file.js";

export interface KubernetesClusterStackProps {
  /** Kubernetes topology (target "kubernetes"). */
  readonly plan: TopologyPlan;
  readonly options: StacksOptions;
}

/**
 * One cluster on Kubernetes (etcd-k8s-<N>): provider, namespace (unless an existing one is named),
 * the peer and client Services (and per-member NodePort Services with expose nodeport), the
 * StatefulSet, a PodDisruptionBudget (one member down at a time), outputs.
 */
export class KubernetesClusterStack extends TerraformStack {
  readonly plan: TopologyPlan;
  readonly statefulSet: MemberStatefulSet;
  readonly services: MemberServices;
  /** With ETCDKIT_AUTH_FILE: the Job that applies it in the cluster. */
  readonly auth?: AuthJob;

  constructor(scope: Construct, props: KubernetesClusterStackProps) {
    const { plan, options } = props;
    const k = plan.kubernetes;
    if (plan.target !== "kubernetes" || !k) throw new TopologyError(`stack ${plan.stackName}: a kubernetes plan is needed`);
    super(scope, plan.stackName);
    this.plan = plan;
    const ko = options.kubernetes;

    new LocalBackend(this, { path: `${options.stateDir}/${plan.stackName}.tfstate` });
    new KubernetesProvider(this, "kubernetes", {
      ...(ko.kubeconfig !== undefined ? { configPath: ko.kubeconfig } : {}),
      ...(ko.kubeContext !== undefined ? { configContext: ko.kubeContext } : {}),
    });
    // The stack's own namespace goes with it on destroy; a named one is only used.
    const namespace =
      ko.namespace === undefined
        ? new NamespaceV1(this, "stack-namespace", { metadata: { name: k.namespace, labels: stackLabels(k, plan.stackName) } }).metadata.name
        : k.namespace;
    this.services = new MemberServices(this, "services", { plan, namespace });
    const files = secretFiles(plan);
    const tls = files ? new TlsSecret(this, "tls-secret", { plan, namespace, files }) : undefined;
    this.statefulSet = new MemberStatefulSet(this, "member-statefulset", {
      plan,
      namespace,
      pod: ko,
      peerServiceName: this.services.peer.metadata.name,
      ...(tls ? { tls: { secretName: tls.secret.metadata.name, files: tls.files } } : {}),
    });
    if (options.authFile !== undefined) {
      this.auth = new AuthJob(this, "auth-job", {
        plan,
        namespace,
        spec: loadAuthFile(options.authFile),
        imagePullPolicy: ko.imagePullPolicy,
        ...(tls ? { tls: { secretName: tls.secret.metadata.name, files: tls.files } } : {}),
      });
    }
    new PodDisruptionBudgetV1(this, "disruption-budget", {
      metadata: { name: k.statefulSet, namespace, labels: stackLabels(k, plan.stackName) },
      spec: { maxUnavailable: "1", selector: { matchLabels: podSelector(k) } },
    });

    new TerraformOutput(this, "client_endpoints", {
      value: plan.endpoints,
      description: k.expose === "nodeport" ? "client URLs through the node ports" : "client URLs of the pods (in-cluster DNS names)",
    });
    new TerraformOutput(this, "client_service", { value: k.clientServiceUrl, description: "in-cluster URL of the client Service (ready members)" });
    new TerraformOutput(this, "etcdctl", { value: `${plan.etcdctl} endpoint status -w table`, description: "etcdctl command line for this cluster" });
    clientTlsOutput(this, plan);
    const an = authNames(k);
    authOutput(this, options.authFile, this.auth ? loadAuthFile(options.authFile!).users.map((u) => u.name) : [], {
      how: "kubernetes",
      job: an.job,
      secret: an.secret,
      namespace: k.namespace,
      make_secret: `npx etcdkit k8s auth-secret ${options.authFile} --name ${an.secret} --namespace ${k.namespace} | kubectl apply -f -`,
    });
    new TerraformOutput(this, "namespace", { value: k.namespace });
    new TerraformOutput(this, "members", {
      value: Object.fromEntries(
        plan.members.map((m) => [
          m.name,
          { ordinal: m.ordinal, peer_url: m.peerUrl, in_cluster_url: m.inClusterClientUrl, client_url: m.clientUrl, ...(m.nodePort !== undefined ? { node_port: m.nodePort } : {}) },
        ]),
      ),
      description: "member (pod) name -> ordinal, peer URL, in-cluster and reachable client URL",
    });
  }
}
