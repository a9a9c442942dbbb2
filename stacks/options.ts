/**
 * Stack options, read once from ETCDKIT_* environment variables or the same names as cdktf context
 * (`"context": {"ETCDKIT_SIZES": "1,3"}` in cdktf.json, or `cdktf synth --context`... ); the
 * environment wins. Every variable is listed in stacks/README.md.
 */
import { resolve } from "node:path";
import { CLUSTER_SIZES, TopologyError, checkHostPath, checkMemberAddress, checkSize, checkUserName, type ClusterSize, type TopologyOptions } from "./topology/index.js";

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
  ...CLUSTER_SIZES.map((n) => `ETCDKIT_SUBNET_${n}`),
  ...CLUSTER_SIZES.map((n) => `ETCDKIT_HOSTS_${n}`),
  "ETCDKIT_HOST_SERVER",
  "ETCDKIT_HOST_USER",
  "ETCDKIT_HOST_APP_DIR",
  "ETCDKIT_HOST_NODE",
  "ETCDKIT_HOST_ETCD",
  "ETCDKIT_HOST_ENV_DIR",
  "ETCDKIT_HOST_DATA_DIR",
] as const;

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
  const subnets: Partial<Record<ClusterSize, string>> = {};
  const hosts: Partial<Record<ClusterSize, readonly string[]>> = {};
  for (const n of CLUSTER_SIZES) {
    const s = get(`ETCDKIT_SUBNET_${n}`);
    if (s) subnets[n] = s;
    const h = list(`ETCDKIT_HOSTS_${n}`);
    if (h) hosts[n] = h.map((a, i) => checkMemberAddress(`ETCDKIT_HOSTS_${n}[${i}]`, a));
  }
  const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));
  return {
    sizes,
    image: get("ETCDKIT_IMAGE") ?? "etcd-ts:local",
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
    },
  };
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
    ...(o.namePrefix !== undefined ? { namePrefix: o.namePrefix } : {}),
    ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
    ...(o.electionMs !== undefined ? { electionMs: o.electionMs } : {}),
    ...(o.snapshotCount !== undefined ? { snapshotCount: o.snapshotCount } : {}),
  };
}
