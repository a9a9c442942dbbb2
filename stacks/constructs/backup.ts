/**
 * Scheduled backups of a Docker stack. Docker has no scheduler, so the stack creates what a timer
 * on the Docker host starts:
 * - a `<stack>-backups` volume, mounted at /var/backups/etcdkit (the image holds that folder owned
 *   by its runtime user, so a new volume starts writable for it);
 * - a `<stack>-backup` container from the members' image that Terraform creates but never starts:
 *   each `docker start -a` runs `etcdkit backup` once (leader found by the command, snapshot saved
 *   and sha256-checked, retention applied) over the stack network, presenting the first member's
 *   certificate when the stack runs TLS;
 * - the host's systemd service + timer (rendered as files next to the stack) that run
 *   `docker start -a <stack>-backup` on the schedule.
 */
import { Construct } from "constructs";
import { Container } from "@cdktf/provider-docker/lib/container/index.js";
import { Volume } from "@cdktf/provider-docker/lib/volume/index.js";
import type { DockerBackupOptions } from "../options.js";
import { backupCommand, backupUnitName, renderDockerBackupService, renderDockerBackupTimer, type TopologyPlan } from "../../topology/index.js";
import type { RenderedFile } from "./bare-host-files.js";
import { certificateMount, containerGroups } from "./docker-tls.js";

/** Where the backups volume is mounted in the backup container (the image holds it, owned by its runtime user). */
export const BACKUP_MOUNT = "/var/backups/etcdkit";

export interface EtcdBackupProps {
  readonly plan: TopologyPlan;
  readonly imageRef: string;
  readonly networkName: string;
  readonly options: DockerBackupOptions;
}

export class EtcdBackup extends Construct {
  readonly volume: Volume;
  readonly container: Container;
  /** The host's service and timer, `docker-backup/etcdkit-backup-<stack>.{service,timer}`. */
  readonly hostFiles: readonly RenderedFile[];

  constructor(scope: Construct, id: string, props: EtcdBackupProps) {
    super(scope, id);
    const { plan, options } = props;
    const labels = [
      { label: "etcdkit.stack", value: plan.stackName },
      { label: "etcdkit.role", value: "backup" },
    ];
    this.volume = new Volume(this, "backups", { name: `${plan.stackName}-backups`, labels });
    const first = plan.members[0]!;
    const certs = certificateMount(plan, first);
    const groups = certs ? containerGroups() : [];
    const command = backupCommand({
      cluster: plan.stackName,
      nodePath: "node",
      appDir: "/app",
      // Inside the stack network, as the members advertise themselves.
      endpoints: plan.members.map((m) => m.config.advertiseClientUrls[0]!),
      backupDir: BACKUP_MOUNT,
      keep: options.keep,
      ...(options.maxAge !== undefined ? { maxAge: options.maxAge } : {}),
      ...(first.tls ? { tls: { ca: first.tls.paths.ca, cert: first.tls.paths.cert, key: first.tls.paths.key } } : {}),
    });
    const containerName = `${plan.stackName}-backup`;
    this.container = new Container(this, "container", {
      name: containerName,
      image: props.imageRef,
      entrypoint: command,
      networksAdvanced: [{ name: props.networkName }],
      volumes: [{ volumeName: this.volume.name, containerPath: BACKUP_MOUNT }],
      ...(certs ? { mounts: [{ type: "bind", source: certs.source, target: certs.target, readOnly: true }] } : {}),
      ...(groups.length > 0 ? { groupAdd: groups } : {}),
      // Created only: the host's timer starts it (docker start -a) for each backup.
      start: false,
      mustRun: false,
      restart: "no",
      labels,
    });
    const spec = { cluster: plan.stackName, container: containerName, dockerPath: options.dockerPath, schedule: options.schedule };
    const unit = backupUnitName(plan.stackName);
    this.hostFiles = [
      { path: `docker-backup/${unit}.service`, content: renderDockerBackupService(spec), mode: 0o644 },
      { path: `docker-backup/${unit}.timer`, content: renderDockerBackupTimer(spec), mode: 0o644 },
      {
        path: "docker-backup/README.txt",
        content:
          `Scheduled backups of Docker stack ${plan.stackName}, on the Docker host (schedule: ${options.schedule}, keep ${options.keep}` +
          `${options.maxAge !== undefined ? `, at most ${options.maxAge} old` : ""}).\n\n` +
          `Install: cp ${unit}.service ${unit}.timer /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now ${unit}.timer\n` +
          `One backup now: docker start -a ${containerName}\n` +
          `The snapshots (<stack>-<UTC time>.db + .json sidecar) are in volume ${plan.stackName}-backups; copy one out with\n` +
          `  docker cp ${containerName}:${BACKUP_MOUNT}/<file>.db .\n` +
          `and restore it with etcdkit restore (see stacks/README.md, "Scheduled backups").\n`,
        mode: 0o644,
      },
    ];
  }
}
