import type { Construct } from "constructs";
import { LocalBackend, TerraformOutput, TerraformStack } from "cdktf";
import { DockerProvider } from "@cdktf/provider-docker/lib/provider/index.js";
import { EtcdImage } from "./constructs/image.js";
import { EtcdNetwork } from "./constructs/network.js";
import { EtcdMember } from "./constructs/member.js";
import { EtcdBackup } from "./constructs/backup.js";
import { FilesSynthesizer, renderBareHostFiles, type RenderedFile } from "./constructs/bare-host-files.js";
import type { StacksOptions } from "./options.js";
import { TopologyError, type TopologyPlan } from "../topology/index.js";
import { authOutput, clientTlsOutput } from "./tls-output.js";
import { loadAuthFile } from "../ansible-free-scripts/auth/auth-file.js";

export interface EtcdClusterStackProps {
  /** Docker topology (target "docker"). */
  readonly plan: TopologyPlan;
  /** Bare-host topology whose env files and units are written next to the stack. */
  readonly hostPlan: TopologyPlan;
  readonly options: StacksOptions;
}

/** One cluster: provider, network, image, a volume and a container per member, outputs, bare-host files. */
export class EtcdClusterStack extends TerraformStack {
  readonly plan: TopologyPlan;
  readonly hostFiles: readonly RenderedFile[];
  readonly members: readonly EtcdMember[];
  readonly backup?: EtcdBackup;

  constructor(scope: Construct, props: EtcdClusterStackProps) {
    const { plan, hostPlan, options } = props;
    if (plan.target !== "docker" || !plan.network) throw new TopologyError(`stack ${plan.stackName}: a docker plan is needed`);
    super(scope, plan.stackName);
    this.plan = plan;

    // Terraform state out of the source tree and out of cdktf.out (which synth rewrites).
    new LocalBackend(this, { path: `${options.stateDir}/${plan.stackName}.tfstate` });
    new DockerProvider(this, "docker", options.dockerHost ? { host: options.dockerHost } : {});
    const network = new EtcdNetwork(this, "network", plan.network, plan.stackName);
    const image = new EtcdImage(this, "image", { name: plan.image, build: options.build, contextDir: options.contextDir, baseImage: options.baseImage });
    // Every member's data dir is <mount>/<name>: the mount is the parent of the first data dir.
    const dataMount = plan.members[0]!.config.dataDir.replace(/\/[^/]+$/, "");
    this.members = plan.members.map(
      (m) => new EtcdMember(this, m.name, { plan, member: m, stackName: plan.stackName, imageRef: image.ref, networkName: network.name, dataMount }),
    );

    new TerraformOutput(this, "client_endpoints", { value: plan.endpoints, description: "client URLs, published on 127.0.0.1" });
    new TerraformOutput(this, "etcdctl", { value: `${plan.etcdctl} endpoint status -w table`, description: "etcdctl command line for this cluster" });
    clientTlsOutput(this, plan);
    authOutput(this, options.authFile, options.authFile ? loadAuthFile(options.authFile).users.map((u) => u.name) : []);
    new TerraformOutput(this, "members", {
      value: Object.fromEntries(plan.members.map((m) => [m.name, { address: m.address, host_port: m.hostPort, container: m.containerName, client_url: m.clientUrl, peer_url: m.peerUrl }])),
      description: "member name -> container address, published host port, container name",
    });

    if (options.dockerBackup) {
      this.backup = new EtcdBackup(this, "scheduled-backup", { plan, imageRef: image.ref, networkName: network.name, options: options.dockerBackup });
      new TerraformOutput(this, "backup", {
        value: { container: this.backup.container.name, volume: this.backup.volume.name, run_once: `docker start -a ${this.backup.container.name}`, host_files: "docker-backup/" },
        description: "scheduled backups: the container a host timer starts (docker-backup/README.txt), the volume holding the snapshots",
      });
    }

    this.hostFiles = [...renderBareHostFiles(hostPlan, options.bareHosts, options.authFile), ...(this.backup?.hostFiles ?? [])];
    this.synthesizer = new FilesSynthesizer(this, this.synthesizer, () => this.hostFiles);
  }
}
