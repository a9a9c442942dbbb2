import { Construct } from "constructs";
import { Container } from "@cdktf/provider-docker/lib/container/index.js";
import { Volume } from "@cdktf/provider-docker/lib/volume/index.js";
import { toEnv } from "../../server/config/render.js";
import type { MemberPlan } from "../topology/index.js";

export interface EtcdMemberProps {
  readonly member: MemberPlan;
  readonly stackName: string;
  readonly imageRef: string;
  readonly networkName: string;
  /** Where the member's volume is mounted (its data dir is <mount>/<name>). */
  readonly dataMount: string;
}

/**
 * Exec-form health check: the image may have no shell, so node itself asks /health.
 * Exit 0 only for {"health":"true"}.
 */
export function healthcheckCommand(clientPort: number): string[] {
  return [
    "CMD",
    "node",
    "-e",
    `fetch('http://127.0.0.1:${clientPort}/health').then(r=>r.json()).then(j=>process.exit(j.health==='true'?0:1),()=>process.exit(1))`,
  ];
}

/** One member: its data volume and its container (static address, alias = member name, env = the model's ETCD_* settings). */
export class EtcdMember extends Construct {
  readonly volume: Volume;
  readonly container: Container;

  constructor(scope: Construct, id: string, props: EtcdMemberProps) {
    super(scope, id);
    const m = props.member;
    const labels = [
      { label: "etcdkit.stack", value: props.stackName },
      { label: "etcdkit.member", value: m.name },
    ];
    this.volume = new Volume(this, "data", { name: m.volumeName!, labels });
    this.container = new Container(this, "container", {
      name: m.containerName!,
      hostname: m.name,
      image: props.imageRef,
      env: Object.entries(toEnv(m.config)).map(([k, v]) => `${k}=${v}`),
      networksAdvanced: [{ name: props.networkName, ipv4Address: m.address, aliases: [m.name] }],
      ports: [{ internal: m.clientPort, external: m.hostPort!, ip: "127.0.0.1", protocol: "tcp" }],
      volumes: [{ volumeName: this.volume.name, containerPath: props.dataMount }],
      healthcheck: { test: healthcheckCommand(m.clientPort), interval: "5s", timeout: "3s", retries: 5, startPeriod: "20s" },
      restart: "unless-stopped",
      mustRun: true,
      labels,
    });
  }
}
