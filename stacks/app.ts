/** Declares the stacks on an app from options: plans every topology first (all checks), then creates constructs. */
import { App, type AppConfig } from "cdktf";
import { EtcdClusterStack } from "./etcd-cluster-stack.js";
import { KubernetesClusterStack } from "./kubernetes-stack.js";
import { bareHostTopology, dockerTopology, kubernetesTopology, type StacksOptions } from "./options.js";
import { planStacks, planTopology } from "../topology/index.js";

export interface DeclaredStacks {
  /** Docker stacks etcd-<N>. */
  readonly stacks: EtcdClusterStack[];
  /** Kubernetes stacks etcd-k8s-<N>. */
  readonly kubernetes: KubernetesClusterStack[];
}

/** Every stack of `options`: Docker first, then Kubernetes; all plans are checked before any construct exists. */
export function declareAllStacks(app: App, options: StacksOptions): DeclaredStacks {
  const dockerPlans = options.sizes.map((n) => dockerTopology(n, options));
  const k8sPlans = options.kubernetes.sizes.map((n) => kubernetesTopology(n, options));
  // Plans are pure and checked against each other (names, ports) before any construct exists.
  const plans = planStacks([...dockerPlans, ...k8sPlans]);
  const hostPlans = options.sizes.map((n) => planTopology(bareHostTopology(n, options)));
  const docker = plans.slice(0, dockerPlans.length);
  return {
    stacks: docker.map((plan, i) => new EtcdClusterStack(app, { plan, hostPlan: hostPlans[i]!, options })),
    kubernetes: plans.slice(dockerPlans.length).map((plan) => new KubernetesClusterStack(app, { plan, options })),
  };
}

/** The Docker stacks (the Kubernetes ones are declared on the app too). */
export function declareStacks(app: App, options: StacksOptions): EtcdClusterStack[] {
  return declareAllStacks(app, options).stacks;
}

export function buildApp(options: StacksOptions, appConfig: AppConfig = {}): { app: App } & DeclaredStacks {
  const app = new App(appConfig);
  return { app, ...declareAllStacks(app, options) };
}
