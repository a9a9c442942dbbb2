/**
 * Scheduled backups of a cluster on bare hosts: a systemd service (Type=oneshot, runs
 * `etcdkit backup` once, as the members' user, in the members' sandbox with only the backup dir
 * writable) and a timer that starts it on a schedule (Persistent=: a run missed while the host was
 * down happens at the next boot). One pair per cluster, installed on one host. Pure.
 */
import { TopologyError } from "./errors.js";
import { quoteUnitArg } from "./systemd-unit.js";
import { hardening } from "./unit-hardening.js";
import { checkNoControl, showValue } from "./safe-values.js";

export interface BackupTimerSpec {
  readonly cluster: string;
  readonly user: string;
  /** Absolute node binary and the etcdkit app dir holding bin/etcdkit.js. */
  readonly nodePath: string;
  readonly appDir: string;
  readonly endpoints: readonly string[];
  /** Absolute; must exist, 0700 and owned by `user` (backupDirCommand), before the service runs. */
  readonly backupDir: string;
  /** systemd OnCalendar= expression: "daily", "hourly", "*-*-* 02:30:00", ... */
  readonly schedule: string;
  readonly keep?: number;
  /** etcdkit backup --max-age: "7d", "36h", ... */
  readonly maxAge?: string;
  /**
   * A TLS cluster: the CA and a client certificate to present (the backup host's member server
   * certificate, which the kit's PKI issues for client auth too). Absent: plaintext endpoints.
   */
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

export const backupUnitName = (cluster: string) => `etcdkit-backup-${cluster}`;

/** The backup's TLS from the backup host's member certificate paths (none for a plaintext member). */
export function tlsOfBackup(paths: { readonly ca: string; readonly cert: string; readonly key: string } | undefined): Pick<BackupTimerSpec, "tls"> {
  return paths ? { tls: { ca: paths.ca, cert: paths.cert, key: paths.key } } : {};
}

/** What OnCalendar= may hold here: systemd's calendar syntax without anything a unit file would read as more. */
export function checkSchedule(what: string, s: string): string {
  if (!/^[A-Za-z0-9*:,./~+-]+( [A-Za-z0-9*:,./~+-]+)*$/.test(s) || s.length > 100) {
    throw new TopologyError(`${what} ${showValue(s)} is not a systemd calendar expression (letters, digits, * : , . / ~ + - and single spaces; e.g. daily or "*-*-* 02:30:00")`);
  }
  return s;
}

function check(spec: BackupTimerSpec): void {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(spec.cluster)) throw new TopologyError(`backup cluster name ${showValue(spec.cluster)} is not a DNS label`);
  const tlsPaths = spec.tls ? ([["CA file", spec.tls.ca], ["certificate", spec.tls.cert], ["key", spec.tls.key]] as const) : [];
  for (const [what, p] of [["node path", spec.nodePath], ["app dir", spec.appDir], ["backup dir", spec.backupDir], ...tlsPaths] as const) {
    checkNoControl(`the backup unit's ${what}`, p);
    if (!/^(\/[A-Za-z0-9._+-]+)+$/.test(p) || p.split("/").some((seg) => seg === "." || seg === "..")) {
      throw new TopologyError(`the backup unit's ${what} ${showValue(p)} must be an absolute path of letters, digits, . _ + - segments`);
    }
  }
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(spec.user)) throw new TopologyError(`backup user ${showValue(spec.user)} is not a user name`);
  if (spec.endpoints.length === 0) throw new TopologyError("the backup unit needs the cluster's endpoints");
  for (const e of spec.endpoints) if (!/^https?:\/\/[A-Za-z0-9.:[\]-]+$/.test(e)) throw new TopologyError(`backup endpoint ${showValue(e)} is not a client URL`);
  if (spec.keep !== undefined && !(Number.isInteger(spec.keep) && spec.keep >= 1)) throw new TopologyError(`backup keep ${spec.keep} must be a whole number >= 1`);
  if (spec.maxAge !== undefined && !/^[1-9]\d{0,5}[smhdw]$/.test(spec.maxAge)) throw new TopologyError(`backup max age ${showValue(spec.maxAge)} must be a number and a unit (s, m, h, d, w), e.g. 7d`);
  checkSchedule("backup schedule", spec.schedule);
}

/** The etcdkit backup command line the service runs. */
export function backupCommand(spec: Omit<BackupTimerSpec, "user" | "schedule">): string[] {
  return [
    spec.nodePath,
    `${spec.appDir}/bin/etcdkit.js`,
    "backup",
    `--endpoints=${spec.endpoints.join(",")}`,
    `--cluster=${spec.cluster}`,
    `--backup-dir=${spec.backupDir}`,
    ...(spec.keep !== undefined ? [`--keep=${spec.keep}`] : []),
    ...(spec.maxAge !== undefined ? [`--max-age=${spec.maxAge}`] : []),
    ...(spec.tls ? [`--cacert=${spec.tls.ca}`, `--cert=${spec.tls.cert}`, `--key=${spec.tls.key}`] : []),
  ];
}

/** The shell command (root) that makes the backup dir the service writes: values are strict paths and names, no quoting needed. */
export function backupDirCommand(spec: Pick<BackupTimerSpec, "user" | "backupDir">): string {
  return `install -d -m 0700 -o ${spec.user} -g ${spec.user} ${spec.backupDir}`;
}

export function renderBackupService(spec: BackupTimerSpec): string {
  check(spec);
  return [
    "[Unit]",
    `Description=etcdkit backup of cluster ${spec.cluster} (snapshot from its leader, sha256 checked)`,
    "Documentation=https://etcd.io/docs/v3.4/op-guide/recovery/",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    `User=${spec.user}`,
    // The backup dir must exist (ReadWritePaths= of a missing path fails the start with
    // 226/NAMESPACE, also for an ExecStartPre=+ that would create it): whoever installs the unit
    // creates it, 0700 and owned by the user (backupDirCommand).
    `ExecStart=${backupCommand(spec).map((a, i) => quoteUnitArg(a, i === 0)).join(" ")}`,
    "TimeoutStartSec=1h",
    "",
    ...hardening([spec.backupDir]),
    "",
  ].join("\n");
}

export function renderBackupTimer(spec: BackupTimerSpec): string {
  check(spec);
  return timer(spec.cluster, spec.schedule);
}

/** A Docker stack's backup: its container (`etcdkit backup` once per start) and the host's docker binary. */
export interface DockerBackupSpec {
  readonly cluster: string;
  readonly container: string;
  readonly dockerPath: string;
  readonly schedule: string;
}

/**
 * The Docker host's service: `docker start -a` runs the stack's backup container once and waits for
 * it, so the container's exit status is the service's and its output goes to the journal.
 */
export function renderDockerBackupService(spec: DockerBackupSpec): string {
  checkDocker(spec);
  return [
    "[Unit]",
    `Description=etcdkit backup of Docker stack ${spec.cluster} (container ${spec.container}: snapshot from the leader, sha256 checked)`,
    "Documentation=https://etcd.io/docs/v3.4/op-guide/recovery/",
    "After=docker.service",
    "Requires=docker.service",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${quoteUnitArg(spec.dockerPath, true)} start -a ${spec.container}`,
    "TimeoutStartSec=1h",
    "",
  ].join("\n");
}

export function renderDockerBackupTimer(spec: DockerBackupSpec): string {
  checkDocker(spec);
  return timer(spec.cluster, spec.schedule);
}

function checkDocker(spec: DockerBackupSpec): void {
  for (const [what, v] of [["cluster name", spec.cluster], ["container name", spec.container]] as const) {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(v)) throw new TopologyError(`backup ${what} ${showValue(v)} is not a DNS label`);
  }
  checkNoControl("the docker path", spec.dockerPath);
  if (!/^(\/[A-Za-z0-9._+-]+)+$/.test(spec.dockerPath)) throw new TopologyError(`the docker path ${showValue(spec.dockerPath)} must be an absolute path`);
  checkSchedule("backup schedule", spec.schedule);
}

function timer(cluster: string, schedule: string): string {
  return [
    "[Unit]",
    `Description=Scheduled etcdkit backups of cluster ${cluster}`,
    "",
    "[Timer]",
    `OnCalendar=${schedule}`,
    // A run missed while the host was off happens at the next boot; runs of many clusters spread.
    "Persistent=true",
    "RandomizedDelaySec=5min",
    `Unit=${backupUnitName(cluster)}.service`,
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}
