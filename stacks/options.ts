/**
 * Stack options, read once from ETCDKIT_* environment variables or the same names as cdktf context
 * (`"context": {"ETCDKIT_SIZES": "1,3"}` in cdktf.json, or `cdktf synth --context`... ); the
 * environment wins. Every variable is listed in stacks/README.md.
 */
import { loadAuthFile } from "../ansible-free-scripts/auth/auth-file.js";
import { join, resolve } from "node:path";
import { CLUSTER_SIZES, TopologyError, checkHostPath, checkSchedule, checkMemberAddress, checkName, checkSize, checkUserName, type ClusterSize, type KubernetesExpose, type TopologyOptions } from "../topology/index.js";

/** The Kubernetes stacks (etcd-k8s-<N>): where they run and what each pod gets. */
export interface KubernetesStackOptions {
  readonly sizes: readonly ClusterSize[];
  /** An existing namespace for every stack; undefined: each stack creates its own, named after it. */
  readonly namespace?: string;
  readonly image: string;
  readonly imagePullPolicy: "IfNotPresent" | "Always" | "Never";
  readonly kubeconfig?: string;
  readonly kubeContext?: string;
  readonly clusterDomain?: string;
  /** Pods per stack now, when not the bootstrap size (scale-up/down, see stacks/kubernetes/README.md). */
  readonly replicas: Partial<Record<ClusterSize, number>>;
  readonly expose: KubernetesExpose;
  readonly nodeAddress?: string;
  readonly nodePortBase?: number;
  readonly storage: string;
  readonly storageClass?: string;
  readonly cpuRequest: string;
  readonly memoryRequest: string;
  readonly memoryLimit: string;
  readonly antiAffinity: "preferred" | "required";
}

export interface BareHostOptions {
  /** What the units start: "etcd-ts" (node <appDir>/bin/etcd-ts.js), "etcd", or an absolute binary path. */
  readonly server: string;
  readonly user: string;
  readonly appDir: string;
  readonly nodePath: string;
  readonly etcdPath: string;
  readonly envDir: string;
  readonly dataDirRoot: string;
  /** Host addresses per cluster size; default: the member names (etcd-1, ...) as DNS names. */
  readonly hosts: Partial<Record<ClusterSize, readonly string[]>>;
  /** Scheduled backups (a systemd timer + service on the first member's host); undefined: none. */
  readonly backup?: BareHostBackupOptions;
}

export interface BareHostBackupOptions {
  /** systemd OnCalendar= expression. */
  readonly schedule: string;
  readonly dir: string;
  readonly keep: number;
  readonly maxAge?: string;
}

/**
 * Scheduled backups of a Docker stack: a `<stack>-backups` volume and a `<stack>-backup` container
 * (created, never started by Terraform) that runs `etcdkit backup` once per `docker start -a`; a
 * systemd timer on the Docker host starts it (Docker has no scheduler of its own).
 */
export interface DockerBackupOptions {
  /** systemd OnCalendar= expression of the host timer. */
  readonly schedule: string;
  readonly keep: number;
  readonly maxAge?: string;
  /** The docker binary the host's service runs. */
  readonly dockerPath: string;
}

export interface StacksOptions {
  readonly sizes: readonly ClusterSize[];
  readonly image: string;
  readonly baseImage: string;
  /** Build the image from the repo's Dockerfile (true) or use an image that already exists (false). */
  readonly build: boolean;
  /** Build context: the repo root. */
  readonly contextDir: string;
  /** Where Terraform keeps each stack's state (local backend): default <repo>/.etcdkit/tfstate. */
  readonly stateDir: string;
  readonly dockerHost?: string;
  readonly namePrefix?: string;
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
  readonly snapshotCount?: number;
  readonly hostPortBase?: number;
  readonly subnets: Partial<Record<ClusterSize, string>>;
  readonly bareHosts: BareHostOptions;
  /** ETCDKIT_DOCKER_BACKUP (default daily; "off": no backup container, volume or timer). */
  readonly dockerBackup?: DockerBackupOptions;
  readonly kubernetes: KubernetesStackOptions;
  /** ETCDKIT_INSECURE=true: plaintext stacks, no certificates (default: TLS). */
  readonly insecure: boolean;
  /** ETCDKIT_PKI_DIR: each stack's PKI is `<pkiRoot>/<stack name>` (default <repo>/.etcdkit/pki, as etcdkit pki). */
  readonly pkiRoot: string;
  /**
   * ETCDKIT_AUTH_FILE: an auth file on the deploying machine (ansible-free-scripts/auth), checked at
   * synth; `etcdkit deploy` applies it once the stack's members are healthy. Only its path (and user
   * names) reach the synthesized JSON: its passwords are read when it is applied.
   */
  readonly authFile?: string;
}

export const OPTION_NAMES = [
  "ETCDKIT_SIZES",
  "ETCDKIT_IMAGE",
  "ETCDKIT_BASE_IMAGE",
  "ETCDKIT_BUILD",
  "ETCDKIT_DOCKER_HOST",
  "ETCDKIT_STATE_DIR",
  "ETCDKIT_NAME_PREFIX",
  "ETCDKIT_HEARTBEAT_MS",
  "ETCDKIT_ELECTION_MS",
  "ETCDKIT_SNAPSHOT_COUNT",
  "ETCDKIT_HOST_PORT_BASE",
  "ETCDKIT_INSECURE",
  "ETCDKIT_PKI_DIR",
  "ETCDKIT_AUTH_FILE",
  ...CLUSTER_SIZES.map((n) => `ETCDKIT_SUBNET_${n}`),
  ...CLUSTER_SIZES.map((n) => `ETCDKIT_HOSTS_${n}`),
  "ETCDKIT_HOST_SERVER",
  "ETCDKIT_HOST_USER",
  "ETCDKIT_HOST_APP_DIR",
  "ETCDKIT_HOST_NODE",
  "ETCDKIT_HOST_ETCD",
  "ETCDKIT_HOST_ENV_DIR",
  "ETCDKIT_HOST_DATA_DIR",
  "ETCDKIT_HOST_BACKUP",
  "ETCDKIT_HOST_BACKUP_DIR",
  "ETCDKIT_HOST_BACKUP_KEEP",
  "ETCDKIT_HOST_BACKUP_MAX_AGE",
  "ETCDKIT_DOCKER_BACKUP",
  "ETCDKIT_DOCKER_BACKUP_KEEP",
  "ETCDKIT_DOCKER_BACKUP_MAX_AGE",
  "ETCDKIT_DOCKER_PATH",
  "ETCDKIT_K8S_SIZES",
  "ETCDKIT_K8S_NAMESPACE",
  "ETCDKIT_K8S_IMAGE",
  "ETCDKIT_K8S_PULL_POLICY",
  "ETCDKIT_KUBECONFIG",
  "ETCDKIT_KUBE_CONTEXT",
  "ETCDKIT_K8S_CLUSTER_DOMAIN",
  ...CLUSTER_SIZES.map((n) => `ETCDKIT_K8S_REPLICAS_${n}`),
  "ETCDKIT_K8S_EXPOSE",
  "ETCDKIT_K8S_NODE_ADDRESS",
  "ETCDKIT_K8S_NODE_PORT_BASE",
  "ETCDKIT_K8S_STORAGE",
  "ETCDKIT_K8S_STORAGE_CLASS",
  "ETCDKIT_K8S_CPU",
  "ETCDKIT_K8S_MEMORY",
  "ETCDKIT_K8S_MEMORY_LIMIT",
  "ETCDKIT_K8S_ANTI_AFFINITY",
] as const;

/** A Kubernetes resource quantity as the API accepts it in practice: 250m, 1, 0.5, 512Mi, 1Gi, 2G. */
const QUANTITY = /^\d+(\.\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

function oneOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new TopologyError(`${name} must be one of ${allowed.join(", ")}, got "${v}"`);
  return v as T;
}

function readKubernetesOptions(get: (name: string) => string | undefined, int: (name: string) => number | undefined, image: string): KubernetesStackOptions {
  const sizesRaw = get("ETCDKIT_K8S_SIZES") ?? CLUSTER_SIZES.join(",");
  const sizes = sizesRaw === "none" ? [] : sizesRaw.split(",").map((s) => s.trim()).filter(Boolean).map((s) => checkSize(Number(s)));
  const quantity = (name: string, dflt: string) => {
    const v = get(name) ?? dflt;
    if (!QUANTITY.test(v)) throw new TopologyError(`${name} must be a Kubernetes quantity such as 250m, 512Mi or 1Gi, got "${v}"`);
    return v;
  };
  const replicas: Partial<Record<ClusterSize, number>> = {};
  for (const n of CLUSTER_SIZES) {
    const r = int(`ETCDKIT_K8S_REPLICAS_${n}`);
    if (r !== undefined) replicas[n] = r;
  }
  const namespace = get("ETCDKIT_K8S_NAMESPACE");
  const storageClass = get("ETCDKIT_K8S_STORAGE_CLASS");
  const kubeconfig = get("ETCDKIT_KUBECONFIG");
  const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));
  return {
    sizes,
    ...opt("namespace", namespace === undefined ? undefined : checkName("ETCDKIT_K8S_NAMESPACE", namespace)),
    image: get("ETCDKIT_K8S_IMAGE") ?? image,
    imagePullPolicy: oneOf("ETCDKIT_K8S_PULL_POLICY", get("ETCDKIT_K8S_PULL_POLICY") ?? "IfNotPresent", ["IfNotPresent", "Always", "Never"] as const),
    ...opt("kubeconfig", kubeconfig),
    ...opt("kubeContext", get("ETCDKIT_KUBE_CONTEXT")),
    ...opt("clusterDomain", get("ETCDKIT_K8S_CLUSTER_DOMAIN")),
    replicas,
    expose: oneOf("ETCDKIT_K8S_EXPOSE", get("ETCDKIT_K8S_EXPOSE") ?? "cluster", ["cluster", "nodeport"] as const),
    ...opt("nodeAddress", get("ETCDKIT_K8S_NODE_ADDRESS")),
    ...opt("nodePortBase", int("ETCDKIT_K8S_NODE_PORT_BASE")),
    storage: quantity("ETCDKIT_K8S_STORAGE", "1Gi"),
    ...opt("storageClass", storageClass === undefined ? undefined : checkName("ETCDKIT_K8S_STORAGE_CLASS", storageClass)),
    cpuRequest: quantity("ETCDKIT_K8S_CPU", "250m"),
    memoryRequest: quantity("ETCDKIT_K8S_MEMORY", "512Mi"),
    memoryLimit: quantity("ETCDKIT_K8S_MEMORY_LIMIT", "1Gi"),
    antiAffinity: oneOf("ETCDKIT_K8S_ANTI_AFFINITY", get("ETCDKIT_K8S_ANTI_AFFINITY") ?? "preferred", ["preferred", "required"] as const),
  };
}

/** `lookup(name)`: the environment first, then cdktf context. */
export function readStackOptions(contextDir: string, env: NodeJS.ProcessEnv = process.env, context: (key: string) => unknown = () => undefined): StacksOptions {
  const get = (name: string): string | undefined => {
    const v = env[name] ?? context(name);
    return v === undefined || v === null || v === "" ? undefined : String(v);
  };
  const int = (name: string): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new TopologyError(`${name} must be a non-negative integer, got "${v}"`);
    return Number(v);
  };
  const list = (name: string) => get(name)?.split(",").map((s) => s.trim()).filter(Boolean);
  const sizes = (list("ETCDKIT_SIZES") ?? CLUSTER_SIZES.map(String)).map((s) => checkSize(Number(s)));
  const build = get("ETCDKIT_BUILD") ?? "true";
  if (!["true", "false"].includes(build)) throw new TopologyError(`ETCDKIT_BUILD must be true or false, got "${build}"`);
  const insecure = get("ETCDKIT_INSECURE") ?? "false";
  if (!["true", "false"].includes(insecure)) throw new TopologyError(`ETCDKIT_INSECURE must be true or false, got "${insecure}"`);
  const subnets: Partial<Record<ClusterSize, string>> = {};
  const hosts: Partial<Record<ClusterSize, readonly string[]>> = {};
  for (const n of CLUSTER_SIZES) {
    const s = get(`ETCDKIT_SUBNET_${n}`);
    if (s) subnets[n] = s;
    const h = list(`ETCDKIT_HOSTS_${n}`);
    if (h) hosts[n] = h.map((a, i) => checkMemberAddress(`ETCDKIT_HOSTS_${n}[${i}]`, a));
  }
  const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));
  const image = get("ETCDKIT_IMAGE") ?? "etcd-ts:local";
  return {
    sizes,
    image,
    baseImage: get("ETCDKIT_BASE_IMAGE") ?? "node:20-bookworm-slim",
    build: build === "true",
    contextDir,
    stateDir: resolve(contextDir, get("ETCDKIT_STATE_DIR") ?? ".etcdkit/tfstate"),
    ...opt("dockerHost", get("ETCDKIT_DOCKER_HOST")),
    ...opt("namePrefix", get("ETCDKIT_NAME_PREFIX")),
    ...opt("heartbeatMs", int("ETCDKIT_HEARTBEAT_MS")),
    ...opt("electionMs", int("ETCDKIT_ELECTION_MS")),
    ...opt("snapshotCount", int("ETCDKIT_SNAPSHOT_COUNT")),
    ...opt("hostPortBase", int("ETCDKIT_HOST_PORT_BASE")),
    subnets,
    // What the bare-host units and env files carry: the same strict forms as the SSH inventory.
    bareHosts: {
      server: hostServer(get("ETCDKIT_HOST_SERVER") ?? "etcd-ts"),
      user: checkUserName("ETCDKIT_HOST_USER", get("ETCDKIT_HOST_USER") ?? "etcd"),
      appDir: checkHostPath("ETCDKIT_HOST_APP_DIR", get("ETCDKIT_HOST_APP_DIR") ?? "/opt/etcdkit"),
      nodePath: checkHostPath("ETCDKIT_HOST_NODE", get("ETCDKIT_HOST_NODE") ?? "/usr/bin/node"),
      etcdPath: checkHostPath("ETCDKIT_HOST_ETCD", get("ETCDKIT_HOST_ETCD") ?? "/usr/bin/etcd"),
      envDir: checkHostPath("ETCDKIT_HOST_ENV_DIR", get("ETCDKIT_HOST_ENV_DIR") ?? "/etc/etcdkit"),
      dataDirRoot: checkHostPath("ETCDKIT_HOST_DATA_DIR", get("ETCDKIT_HOST_DATA_DIR") ?? "/var/lib/etcdkit"),
      hosts,
      ...opt("backup", hostBackup(get, int)),
    },
    ...opt("dockerBackup", dockerBackup(get, int)),
    kubernetes: readKubernetesOptions(get, int, image),
    insecure: insecure === "true",
    pkiRoot: resolve(contextDir, get("ETCDKIT_PKI_DIR") ?? ".etcdkit/pki"),
    ...opt("authFile", authFileOption(contextDir, get("ETCDKIT_AUTH_FILE"))),
  };
}

type Get = (n: string) => string | undefined;
type Int = (n: string) => number | undefined;

/** `<prefix>` (a schedule, default daily, or "off"), `<prefix>_KEEP`, `<prefix>_MAX_AGE`: the retention both backup kinds share. */
function backupSchedule(prefix: string, get: Get, int: Int): { schedule: string; keep: number; maxAge?: string } | undefined {
  const schedule = get(prefix) ?? "daily";
  if (schedule === "off") return undefined;
  const keep = int(`${prefix}_KEEP`) ?? 7;
  if (keep < 1) throw new TopologyError(`${prefix}_KEEP must be at least 1, got ${keep}`);
  const maxAge = get(`${prefix}_MAX_AGE`);
  if (maxAge !== undefined && !/^[1-9]\d{0,5}[smhdw]$/.test(maxAge)) throw new TopologyError(`${prefix}_MAX_AGE must be a number and a unit (s, m, h, d, w), e.g. 30d; got "${maxAge}"`);
  return { schedule: checkSchedule(prefix, schedule), keep, ...(maxAge !== undefined ? { maxAge } : {}) };
}

/** ETCDKIT_HOST_BACKUP: a schedule (default daily) or "off". */
function hostBackup(get: Get, int: Int): BareHostBackupOptions | undefined {
  const b = backupSchedule("ETCDKIT_HOST_BACKUP", get, int);
  return b && { ...b, dir: checkHostPath("ETCDKIT_HOST_BACKUP_DIR", get("ETCDKIT_HOST_BACKUP_DIR") ?? "/var/backups/etcdkit") };
}

/** ETCDKIT_DOCKER_BACKUP: a schedule (default daily) or "off". */
function dockerBackup(get: Get, int: Int): DockerBackupOptions | undefined {
  const b = backupSchedule("ETCDKIT_DOCKER_BACKUP", get, int);
  return b && { ...b, dockerPath: checkHostPath("ETCDKIT_DOCKER_PATH", get("ETCDKIT_DOCKER_PATH") ?? "/usr/bin/docker") };
}

function hostServer(v: string): string {
  return v === "etcd-ts" || v === "etcd" ? v : checkHostPath("ETCDKIT_HOST_SERVER", v);
}

/** The docker topology of one stack. */
export function dockerTopology(size: ClusterSize, o: StacksOptions): TopologyOptions {
  return {
    size,
    target: "docker",
    stackName: `etcd-${size}`,
    image: o.image,
    insecure: o.insecure,
    pkiDir: join(o.pkiRoot, `etcd-${size}`),
    ...(o.namePrefix !== undefined ? { namePrefix: o.namePrefix } : {}),
    ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
    ...(o.electionMs !== undefined ? { electionMs: o.electionMs } : {}),
    ...(o.snapshotCount !== undefined ? { snapshotCount: o.snapshotCount } : {}),
    ...(o.hostPortBase !== undefined ? { hostPortBase: o.hostPortBase } : {}),
    ...(o.subnets[size] !== undefined ? { subnet: o.subnets[size] } : {}),
  };
}

/** The bare-host topology rendered next to a stack: one host per member. */
export function bareHostTopology(size: ClusterSize, o: StacksOptions): TopologyOptions {
  const prefix = o.namePrefix ?? "etcd";
  const hosts = o.bareHosts.hosts[size] ?? Array.from({ length: size }, (_, i) => `${prefix}-${i + 1}`);
  return {
    size,
    target: "hosts",
    stackName: `etcd-${size}`,
    hosts: hosts.map((address) => ({ address })),
    dataDirRoot: o.bareHosts.dataDirRoot,
    insecure: o.insecure,
    // Not the docker stack's PKI: the hosts' certificates name other addresses.
    pkiDir: join(o.pkiRoot, `etcd-${size}-hosts`),
    ...(o.namePrefix !== undefined ? { namePrefix: o.namePrefix } : {}),
    ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
    ...(o.electionMs !== undefined ? { electionMs: o.electionMs } : {}),
    ...(o.snapshotCount !== undefined ? { snapshotCount: o.snapshotCount } : {}),
  };
}

/** The kubernetes topology of one stack (etcd-k8s-<N>). */
export function kubernetesTopology(size: ClusterSize, o: StacksOptions): TopologyOptions {
  const k = o.kubernetes;
  const stackName = `etcd-k8s-${size}`;
  return {
    size,
    target: "kubernetes",
    stackName,
    image: k.image,
    insecure: o.insecure,
    pkiDir: join(o.pkiRoot, stackName),
    ...(o.namePrefix !== undefined ? { namePrefix: o.namePrefix } : {}),
    ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
    ...(o.electionMs !== undefined ? { electionMs: o.electionMs } : {}),
    ...(o.snapshotCount !== undefined ? { snapshotCount: o.snapshotCount } : {}),
    kubernetes: {
      namespace: k.namespace ?? stackName,
      expose: k.expose,
      ...(k.replicas[size] !== undefined ? { replicas: k.replicas[size] } : {}),
      ...(k.clusterDomain !== undefined ? { clusterDomain: k.clusterDomain } : {}),
      ...(k.nodeAddress !== undefined ? { nodeAddress: k.nodeAddress } : {}),
      ...(k.nodePortBase !== undefined ? { nodePortBase: k.nodePortBase } : {}),
    },
  };
}

/** ETCDKIT_AUTH_FILE, resolved against the repo root and checked now (its form only: no password is read). */
function authFileOption(contextDir: string, v: string | undefined): string | undefined {
  if (v === undefined || v === "") return undefined;
  const file = resolve(contextDir, v);
  try {
    loadAuthFile(file);
  } catch (e) {
    throw new TopologyError(`ETCDKIT_AUTH_FILE: ${(e as Error).message}`);
  }
  return file;
}
