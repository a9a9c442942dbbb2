/**
 * The SSH inventory: hosts (address, ssh user/port/identity, member name, ports) and cluster
 * settings, as YAML or JSON. Either a plain list of hosts, or `{ cluster: {...}, hosts: [...] }`.
 *
 * ```yaml
 * cluster:
 *   name: demo                # default etcd-<n>
 *   server: etcd-ts           # etcd-ts | etcd | /absolute/path/to/binary (on the hosts)
 *   user: etcd                # User= of the units (created if missing, when deploying as root with systemd)
 *   serviceManager: auto      # auto | systemd | supervisor
 * hosts:
 *   - address: 10.0.0.11
 *     name: etcd-1
 *     ssh: { user: root, port: 22, identity: ~/.ssh/id_ed25519 }
 * ```
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { planTopology, TopologyError, type TopologyPlan } from "../../stacks/topology/index.js";

export type ServiceManager = "auto" | "systemd" | "supervisor";

export interface SshTarget {
  /** Host ssh connects to (default: the member's address). */
  readonly host: string;
  readonly user?: string;
  readonly port?: number;
  readonly identity?: string;
  /** Extra ssh/scp options, e.g. ["-o", "StrictHostKeyChecking=accept-new"]. */
  readonly options: readonly string[];
}

export interface ClusterSettings {
  readonly name: string;
  readonly server: string;
  readonly token?: string;
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
  readonly snapshotCount?: number;
  /** Remote directory for the server bundle, the supervisor, its pid files and logs. */
  readonly deployDir: string;
  readonly envDir: string;
  readonly dataDir: string;
  readonly unitDir: string;
  readonly user: string;
  readonly nodePath: string;
  readonly etcdPath: string;
  readonly serviceManager: ServiceManager;
  /** Run remote scripts through `sudo -n` (when the ssh user is not root). */
  readonly sudo: boolean;
  readonly healthTimeoutMs: number;
}

export interface DeployMember {
  readonly name: string;
  readonly ssh: SshTarget;
  readonly plan: TopologyPlan["members"][number];
}

export interface Inventory {
  readonly cluster: ClusterSettings;
  readonly plan: TopologyPlan;
  readonly members: readonly DeployMember[];
}

interface RawHost {
  address?: unknown;
  name?: unknown;
  clientPort?: unknown;
  peerPort?: unknown;
  listenAddress?: unknown;
  ssh?: { host?: unknown; user?: unknown; port?: unknown; identity?: unknown; options?: unknown };
  sshHost?: unknown;
  sshUser?: unknown;
  sshPort?: unknown;
  identity?: unknown;
  sshOptions?: unknown;
}

const str = (v: unknown, what: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" && typeof v !== "number") throw new TopologyError(`${what} must be a string`);
  return String(v);
};
const int = (v: unknown, what: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new TopologyError(`${what} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
};
const expandHome = (p: string) => (p.startsWith("~/") ? resolve(homedir(), p.slice(2)) : p);
const absPath = (p: string, what: string) => {
  if (!p.startsWith("/")) throw new TopologyError(`${what} must be an absolute path on the hosts, got "${p}"`);
  return p.replace(/\/+$/, "");
};

export function loadInventory(file: string): Inventory {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new TopologyError(`cannot read inventory ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text); // JSON is YAML
  } catch (e) {
    throw new TopologyError(`inventory ${file} is neither YAML nor JSON: ${(e as Error).message}`);
  }
  return parseInventory(doc);
}

export function parseInventory(doc: unknown): Inventory {
  const obj = Array.isArray(doc) ? { hosts: doc } : (doc as { cluster?: Record<string, unknown>; hosts?: unknown });
  if (!obj || typeof obj !== "object" || !Array.isArray(obj.hosts) || obj.hosts.length === 0) {
    throw new TopologyError("inventory must be a list of hosts, or an object with a non-empty `hosts` list");
  }
  const c = (obj.cluster ?? {}) as Record<string, unknown>;
  const hosts = obj.hosts as RawHost[];
  const size = hosts.length;
  const manager = (str(c.serviceManager, "cluster.serviceManager") ?? "auto") as ServiceManager;
  if (!["auto", "systemd", "supervisor"].includes(manager)) throw new TopologyError(`cluster.serviceManager must be auto, systemd or supervisor, got "${manager}"`);
  const server = str(c.server, "cluster.server") ?? "etcd-ts";
  if (server !== "etcd-ts" && server !== "etcd") absPath(server, "cluster.server");
  const cluster: ClusterSettings = {
    name: str(c.name, "cluster.name") ?? `etcd-${size}`,
    server,
    ...(c.token !== undefined ? { token: str(c.token, "cluster.token")! } : {}),
    ...(c.heartbeatMs !== undefined ? { heartbeatMs: int(c.heartbeatMs, "cluster.heartbeatMs")! } : {}),
    ...(c.electionMs !== undefined ? { electionMs: int(c.electionMs, "cluster.electionMs")! } : {}),
    ...(c.snapshotCount !== undefined ? { snapshotCount: int(c.snapshotCount, "cluster.snapshotCount")! } : {}),
    deployDir: absPath(str(c.deployDir, "cluster.deployDir") ?? "/opt/etcdkit", "cluster.deployDir"),
    envDir: absPath(str(c.envDir, "cluster.envDir") ?? "/etc/etcdkit", "cluster.envDir"),
    dataDir: absPath(str(c.dataDir, "cluster.dataDir") ?? "/var/lib/etcdkit", "cluster.dataDir"),
    unitDir: absPath(str(c.unitDir, "cluster.unitDir") ?? "/etc/systemd/system", "cluster.unitDir"),
    user: str(c.user, "cluster.user") ?? "etcd",
    nodePath: absPath(str(c.nodePath, "cluster.nodePath") ?? "/usr/bin/node", "cluster.nodePath"),
    etcdPath: absPath(str(c.etcdPath, "cluster.etcdPath") ?? "/usr/bin/etcd", "cluster.etcdPath"),
    serviceManager: manager,
    sudo: c.sudo === true,
    healthTimeoutMs: int(c.healthTimeoutMs, "cluster.healthTimeoutMs") ?? 60_000,
  };
  if (!/^[a-z_][a-z0-9_-]*$/.test(cluster.user)) throw new TopologyError(`cluster.user "${cluster.user}" is not a valid user name`);
  const plan = planTopology({
    size,
    target: "hosts",
    stackName: cluster.name,
    dataDirRoot: cluster.dataDir,
    hosts: hosts.map((h, i) => {
      if (!h || typeof h !== "object") throw new TopologyError(`hosts[${i}] must be an object with an address`);
      const address = str(h.address, `hosts[${i}].address`);
      if (!address) throw new TopologyError(`hosts[${i}] has no address`);
      const name = str(h.name, `hosts[${i}].name`);
      const clientPort = int(h.clientPort, `hosts[${i}].clientPort`);
      const peerPort = int(h.peerPort, `hosts[${i}].peerPort`);
      const listenAddress = str(h.listenAddress, `hosts[${i}].listenAddress`);
      return {
        address,
        ...(name !== undefined ? { name } : {}),
        ...(clientPort !== undefined ? { clientPort } : {}),
        ...(peerPort !== undefined ? { peerPort } : {}),
        ...(listenAddress !== undefined ? { listenAddress } : {}),
      };
    }),
    ...(cluster.token !== undefined ? { token: cluster.token } : {}),
    ...(cluster.heartbeatMs !== undefined ? { heartbeatMs: cluster.heartbeatMs } : {}),
    ...(cluster.electionMs !== undefined ? { electionMs: cluster.electionMs } : {}),
    ...(cluster.snapshotCount !== undefined ? { snapshotCount: cluster.snapshotCount } : {}),
  });
  const members: DeployMember[] = plan.members.map((m, i) => {
    const h = hosts[i]!;
    const s = h.ssh ?? {};
    const options = s.options ?? h.sshOptions ?? [];
    if (!Array.isArray(options) || !options.every((o) => typeof o === "string")) throw new TopologyError(`hosts[${i}].ssh.options must be a list of strings`);
    const user = str(s.user ?? h.sshUser, `hosts[${i}].ssh.user`);
    const port = int(s.port ?? h.sshPort, `hosts[${i}].ssh.port`);
    const identity = str(s.identity ?? h.identity, `hosts[${i}].ssh.identity`);
    return {
      name: m.name,
      plan: m,
      ssh: {
        host: str(s.host ?? h.sshHost, `hosts[${i}].ssh.host`) ?? m.address,
        ...(user !== undefined ? { user } : {}),
        ...(port !== undefined ? { port } : {}),
        ...(identity !== undefined ? { identity: expandHome(identity) } : {}),
        options: options as string[],
      },
    };
  });
  return { cluster, plan, members };
}

/** Hosts are grouped by ssh target: one session per machine, even when it runs several members. */
export function targetKey(t: SshTarget): string {
  return `${t.user ?? ""}@${t.host}:${t.port ?? 22}|${t.identity ?? ""}|${t.options.join(" ")}`;
}
