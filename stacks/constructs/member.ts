import { Construct } from "constructs";
import { Container } from "@cdktf/provider-docker/lib/container/index.js";
import { Volume } from "@cdktf/provider-docker/lib/volume/index.js";
import { toEnv } from "../../server/config/render.js";
import type { MemberPlan, TopologyPlan } from "../../topology/index.js";
import { certificateMount, containerGroups } from "./docker-tls.js";

export interface EtcdMemberProps {
  readonly plan: TopologyPlan;
  readonly member: MemberPlan;
  readonly stackName: string;
  readonly imageRef: string;
  readonly networkName: string;
  /** Where the member's volume is mounted (its data dir is <mount>/<name>). */
  readonly dataMount: string;
}

/** The image's probe (stacks/pod/probe.ts): node asks /health on the member's own client URL, over https with the member's certificate when TLS is on. */
export const PROBE_COMMAND = ["node", "/app/dist/stacks/pod/probe.js"] as const;

/**
 * Exec-form health check: the image may have no shell, so node itself asks /health (the probe
 * reads the member's ETCD_* environment: scheme, port, certificates). Exit 0 only for {"health":"true"}.
 */
export function healthcheckCommand(): string[] {
  return ["CMD", ...PROBE_COMMAND, "/health"];
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
    const certs = certificateMount(props.plan, m);
    const groups = certs ? containerGroups() : [];
    this.container = new Container(this, "container", {
      name: m.containerName!,
      hostname: m.name,
      image: props.imageRef,
      env: Object.entries(toEnv(m.config)).map(([k, v]) => `${k}=${v}`),
      networksAdvanced: [{ name: props.networkName, ipv4Address: m.address, aliases: [m.name] }],
      ports: [{ internal: m.clientPort, external: m.hostPort!, ip: "127.0.0.1", protocol: "tcp" }],
      volumes: [{ volumeName: this.volume.name, containerPath: props.dataMount }],
      // TLS: the member's certificates, read-only (constructs/docker-tls.ts).
      ...(certs ? { mounts: [{ type: "bind", source: certs.source, target: certs.target, readOnly: true }] } : {}),
      ...(groups.length > 0 ? { groupAdd: groups } : {}),
      healthcheck: { test: healthcheckCommand(), interval: "5s", timeout: "3s", retries: 5, startPeriod: "20s" },
      restart: "unless-stopped",
      mustRun: true,
      labels,
    });
  }
}
