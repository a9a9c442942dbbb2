/** Declares the stacks on an app from options: plans every topology first (all checks), then creates constructs. */
import { App, type AppConfig } from "cdktf";
import { EtcdClusterStack } from "./etcd-cluster-stack.js";
import { bareHostTopology, dockerTopology, type StacksOptions } from "./options.js";
import { planStacks, planTopology } from "./topology/index.js";

export function declareStacks(app: App, options: StacksOptions): EtcdClusterStack[] {
  // Plans are pure and checked against each other before any construct exists.
  const plans = planStacks(options.sizes.map((n) => dockerTopology(n, options)));
  const hostPlans = options.sizes.map((n) => planTopology(bareHostTopology(n, options)));
  return plans.map((plan, i) => new EtcdClusterStack(app, { plan, hostPlan: hostPlans[i]!, options }));
}

export function buildApp(options: StacksOptions, appConfig: AppConfig = {}): { app: App; stacks: EtcdClusterStack[] } {
  const app = new App(appConfig);
  return { app, stacks: declareStacks(app, options) };
}
