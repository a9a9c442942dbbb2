/**
 * The Services of a member StatefulSet: the headless peer Service (stable pod DNS names, not-ready
 * pods published so members find each other while bootstrapping), the ClusterIP client Service
 * (ready members only), and with expose "nodeport" one NodePort Service per member.
 */
import { Construct } from "constructs";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1/index.js";
import type { MemberPlan, TopologyPlan } from "../../../topology/index.js";
import { POD_NAME_LABEL, podSelector, stackLabels } from "./labels.js";

export interface MemberServicesProps {
  readonly plan: TopologyPlan;
  /** The namespace's name (a reference when the stack creates it). */
  readonly namespace: string;
}

export class MemberServices extends Construct {
  readonly peer: ServiceV1;
  readonly client: ServiceV1;
  readonly nodePorts: readonly ServiceV1[];

  constructor(scope: Construct, id: string, props: MemberServicesProps) {
    super(scope, id);
    const k = props.plan.kubernetes!;
    const first = props.plan.members[0]!;
    const labels = stackLabels(k, props.plan.stackName);
    const meta = (name: string) => ({ name, namespace: props.namespace, labels });
    this.peer = new ServiceV1(this, "peer", {
      metadata: meta(k.peerService),
      spec: {
        clusterIp: "None",
        publishNotReadyAddresses: true,
        selector: podSelector(k),
        port: [
          { name: "client", port: first.clientPort, targetPort: "client" },
          { name: "peer", port: first.peerPort, targetPort: "peer" },
        ],
      },
    });
    this.client = new ServiceV1(this, "client", {
      metadata: meta(k.clientService),
      spec: { type: "ClusterIP", selector: podSelector(k), port: [{ name: "client", port: first.clientPort, targetPort: "client" }] },
    });
    this.nodePorts = props.plan.members
      .filter((m): m is MemberPlan & { nodePort: number } => m.nodePort !== undefined)
      .map(
        (m) =>
          new ServiceV1(this, `node-port-${m.ordinal}`, {
            metadata: meta(`${m.name}-client`),
            spec: {
              type: "NodePort",
              selector: { ...podSelector(k), [POD_NAME_LABEL]: m.name },
              port: [{ name: "client", port: m.clientPort, targetPort: "client", nodePort: m.nodePort }],
            },
          }),
      );
  }
}
