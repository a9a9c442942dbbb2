import { Construct } from "constructs";
import { Network } from "@cdktf/provider-docker/lib/network/index.js";
import type { DockerNetworkPlan } from "../../topology/index.js";

/** The stack's bridge network with its own explicit subnet, so members get static addresses. */
export class EtcdNetwork extends Construct {
  readonly network: Network;

  constructor(scope: Construct, id: string, plan: DockerNetworkPlan, stackName: string) {
    super(scope, id);
    this.network = new Network(this, "network", {
      name: plan.name,
      driver: "bridge",
      ipamConfig: [{ subnet: plan.subnet, gateway: plan.gateway }],
      labels: [
        { label: "etcdkit.stack", value: stackName },
        { label: "etcdkit.managed-by", value: "cdktf" },
      ],
    });
  }

  get name(): string {
    return this.network.name;
  }
}
