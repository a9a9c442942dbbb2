/**
 * The SSH inventory: hosts (address, ssh user/port/identity, member name, ports) and cluster
 * settings, as YAML or JSON. Either a plain list of hosts, or `{ cluster: {...}, hosts: [...] }`.
 *
 * ```yaml
 * cluster:
 *   name: demo                # default etcd-<n>
 *   server: etcd-ts           # etcd-ts | etcd | /absolute/path/to/binary (on the hosts)
 *   user: etcd                # User= of the units; members run as it under systemd and the supervisor (created if missing)
 *   serviceManager: auto      # auto | systemd | supervisor
 *   insecure: false           # true: plaintext http://, no certificates (default: TLS, see below)
 *   pkiDir: .etcdkit/pki/demo # the PKI on this machine (etcdkit pki), made by deploy if missing
 *   certDir: /etc/etcdkit/pki # on the hosts: <certDir>/<member>/ca.crt, server.crt|key, peer.crt|key
 * hosts:
 *   - address: 10.0.0.11
 *     name: etcd-1
 *     ssh: { user: root, port: 22, identity: ~/.ssh/id_ed25519 }
 * ```
 *
 * Every value is checked before anything runs (topology/safe-values.ts, ./ssh-options.ts):
 * host paths, user names, host names, member names, ports and ssh options each have a strict
 * form, an unknown key is an error, and the error names the field and shows the value.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import {
  MAX_PATH,
  TopologyError,
  checkMemberAddress,
  checkHostPath,
  checkLoginName,
  checkName,
  checkNoControl,
  checkPortNumber,
  checkSchedule,
  checkUserName,
  DEFAULT_MEMBER_PKI_DIR,
  defaultPkiDir,
  isIpv4,
  planTopology,
  showValue,
  type HostSpec,
  type TopologyPlan,
} from "../../topology/index.js";
import { checkSshHost, checkSshOptions } from "./ssh-options.js";

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
  /** Plaintext (no TLS). */
  readonly insecure: boolean;
  /** The PKI on the deploying machine. */
  readonly pkiDir: string;
  /** Remote directory of the members' certificates (`<certDir>/<member>/`). */
  readonly certDir: string;
  /** Scheduled backups (cluster.backup): a systemd timer on the first member's host; none when absent. */
  readonly backup?: BackupSettings;
  /** An auth file on the deploying machine (ansible-free-scripts/auth): deploy applies it once healthy. */
  readonly auth?: string;
}

export interface BackupSettings {
  /** systemd OnCalendar= expression. */
  readonly schedule: string;
  readonly dir: string;
  readonly keep: number;
  readonly maxAge?: string;
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

const CLUSTER_KEYS = ["name", "server", "token", "heartbeatMs", "electionMs", "snapshotCount", "deployDir", "envDir", "dataDir", "unitDir", "user", "nodePath", "etcdPath", "serviceManager", "sudo", "healthTimeoutMs", "insecure", "pkiDir", "certDir", "backup", "auth"] as const;
const BACKUP_KEYS = ["schedule", "dir", "keep", "maxAge"] as const;
const HOST_KEYS = ["address", "name", "clientPort", "peerPort", "listenAddress", "ssh", "sshHost", "sshUser", "sshPort", "identity", "sshOptions"] as const;
const SSH_KEYS = ["host", "user", "port", "identity", "options"] as const;

type Raw = Record<string, unknown>;

const fail = (field: string, value: unknown, why: string): never => {
  throw new TopologyError(`${field} ${showValue(value)} ${why}`);
};

/** An object whose keys are all known: a misspelt setting is an error, not a silently used default. */
function record(field: string, v: unknown, keys: readonly string[]): Raw {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) return fail(field, v, "must be a mapping");
  const unknown = Object.keys(v).filter((k) => !keys.includes(k));
  if (unknown.length > 0) throw new TopologyError(`${field} has unknown setting${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => showValue(k)).join(", ")} (known: ${keys.join(", ")})`);
  return v as Raw;
}

const str = (v: unknown, field: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" && typeof v !== "number") return fail(field, v, "must be a string");
  return String(v);
};
/** A whole number in [min, max], from a YAML number or a string of digits. */
const int = (v: unknown, field: string, min: number, max: number): number | undefined => {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d{1,10}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) fail(field, v, `must be a whole number from ${min} to ${max}`);
  return n;
};
const expandHome = (p: string) => (p.startsWith("~/") ? resolve(homedir(), p.slice(2)) : p);

/**
 * A local key file (ssh -i): passed to ssh and scp as one argument, never through a shell, so
 * spaces, quotes and '$(...)' are just characters of the name. ssh itself expands %-tokens and
 * ${VAR} in it, so those are refused rather than silently changing the path.
 */
function identityPath(v: unknown, field: string): string | undefined {
  const s = str(v, field);
  if (s === undefined) return undefined;
  checkNoControl(field, s);
  if (s === "" || s.length > MAX_PATH) fail(field, s, `must be a file name of 1-${MAX_PATH} characters`);
  if (s.includes("%") || s.includes("${")) fail(field, s, "holds '%' or '${', which ssh expands in identity file names: rename the key file");
  return expandHome(s);
}

function clusterSettings(c: Raw, size: number): ClusterSettings {
  const manager = str(c.serviceManager, "cluster.serviceManager") ?? "auto";
  if (!["auto", "systemd", "supervisor"].includes(manager)) fail("cluster.serviceManager", manager, "must be auto, systemd or supervisor");
  const server = str(c.server, "cluster.server") ?? "etcd-ts";
  if (c.sudo !== undefined && typeof c.sudo !== "boolean") fail("cluster.sudo", c.sudo, "must be true or false");
  if (c.insecure !== undefined && typeof c.insecure !== "boolean") fail("cluster.insecure", c.insecure, "must be true or false");
  const name = checkName("cluster.name", str(c.name, "cluster.name") ?? `etcd-${size}`);
  const pkiDir = str(c.pkiDir, "cluster.pkiDir");
  if (pkiDir !== undefined) checkNoControl("cluster.pkiDir", pkiDir);
  const path = (k: "deployDir" | "envDir" | "dataDir" | "unitDir" | "nodePath" | "etcdPath", def: string) => checkHostPath(`cluster.${k}`, c[k] ?? def);
  const opt = (k: "heartbeatMs" | "electionMs" | "snapshotCount", max: number) => {
    const n = int(c[k], `cluster.${k}`, k === "snapshotCount" ? 0 : 1, max);
    return n === undefined ? {} : { [k]: n };
  };
  const auth = str(c.auth, "cluster.auth");
  if (auth !== undefined) {
    checkNoControl("cluster.auth", auth);
    if (auth === "") fail("cluster.auth", auth, "must be the path of an auth file on this machine");
  }
  const token = str(c.token, "cluster.token");
  if (token !== undefined && !/^[A-Za-z0-9._-]{1,255}$/.test(token)) fail("cluster.token", token, "may only hold 1-255 letters, digits, '.', '_' and '-'");
  return {
    name,
    server: server === "etcd-ts" || server === "etcd" ? server : checkHostPath("cluster.server", server),
    ...(token !== undefined ? { token } : {}),
    ...opt("heartbeatMs", 60_000),
    ...opt("electionMs", 600_000),
    ...opt("snapshotCount", 2 ** 31),
    deployDir: path("deployDir", "/opt/etcdkit"),
    envDir: path("envDir", "/etc/etcdkit"),
    dataDir: path("dataDir", "/var/lib/etcdkit"),
    unitDir: path("unitDir", "/etc/systemd/system"),
    user: checkUserName("cluster.user", c.user ?? "etcd"),
    nodePath: path("nodePath", "/usr/bin/node"),
    etcdPath: path("etcdPath", "/usr/bin/etcd"),
    serviceManager: manager as ServiceManager,
    sudo: c.sudo === true,
    healthTimeoutMs: int(c.healthTimeoutMs, "cluster.healthTimeoutMs", 1, 3_600_000) ?? 60_000,
    insecure: c.insecure === true,
    pkiDir: expandHome(pkiDir ?? defaultPkiDir(name)),
    certDir: checkHostPath("cluster.certDir", c.certDir ?? DEFAULT_MEMBER_PKI_DIR),
    ...(c.backup !== undefined ? { backup: backupSettings(record("cluster.backup", c.backup, BACKUP_KEYS)) } : {}),
    ...(auth !== undefined ? { auth: expandHome(auth) } : {}),
  };
}

function backupSettings(b: Raw): BackupSettings {
  const maxAge = str(b.maxAge, "cluster.backup.maxAge");
  if (maxAge !== undefined && !/^[1-9]\d{0,5}[smhdw]$/.test(maxAge)) fail("cluster.backup.maxAge", maxAge, "must be a number and a unit (s, m, h, d, w), e.g. 30d");
  return {
    schedule: checkSchedule("cluster.backup.schedule", str(b.schedule, "cluster.backup.schedule") ?? "daily"),
    dir: checkHostPath("cluster.backup.dir", b.dir ?? "/var/backups/etcdkit"),
    keep: int(b.keep, "cluster.backup.keep", 1, 100_000) ?? 7,
    ...(maxAge !== undefined ? { maxAge } : {}),
  };
}

function hostSpec(h: Raw, i: number): HostSpec {
  const f = (k: string) => `hosts[${i}].${k}`;
  const address = checkMemberAddress(f("address"), str(h.address, f("address")));
  const name = h.name === undefined ? undefined : checkName(f("name"), str(h.name, f("name"))!);
  const clientPort = h.clientPort === undefined ? undefined : checkPortNumber(f("clientPort"), h.clientPort);
  const peerPort = h.peerPort === undefined ? undefined : checkPortNumber(f("peerPort"), h.peerPort);
  const listenAddress = str(h.listenAddress, f("listenAddress"));
  if (listenAddress !== undefined && !isIpv4(listenAddress)) fail(f("listenAddress"), listenAddress, "must be an IPv4 address");
  return {
    address,
    ...(name !== undefined ? { name } : {}),
    ...(clientPort !== undefined ? { clientPort } : {}),
    ...(peerPort !== undefined ? { peerPort } : {}),
    ...(listenAddress !== undefined ? { listenAddress } : {}),
  };
}

function sshTarget(h: Raw, i: number, address: string): SshTarget {
  const f = (k: string) => `hosts[${i}].${k}`;
  const s = record(f("ssh"), h.ssh, SSH_KEYS);
  const pick = (k: (typeof SSH_KEYS)[number], alias: string) => {
    if (s[k] !== undefined && h[alias] !== undefined) throw new TopologyError(`give ${f(`ssh.${k}`)} or ${f(alias)}, not both`);
    return s[k] !== undefined ? { v: s[k], field: f(`ssh.${k}`) } : { v: h[alias], field: f(alias) };
  };
  const host = pick("host", "sshHost");
  const user = pick("user", "sshUser");
  const port = pick("port", "sshPort");
  const identity = pick("identity", "identity");
  const options = pick("options", "sshOptions");
  const id = identityPath(identity.v, identity.field);
  return {
    host: host.v === undefined ? address : checkSshHost(host.field, str(host.v, host.field)),
    ...(user.v !== undefined ? { user: checkLoginName(user.field, str(user.v, user.field)) } : {}),
    ...(port.v !== undefined ? { port: checkPortNumber(port.field, port.v) } : {}),
    ...(id !== undefined ? { identity: id } : {}),
    options: options.v === undefined ? [] : checkSshOptions(options.field, options.v),
  };
}

/** Settings given on the command line, over the inventory's. */
export interface InventoryOverrides {
  /** --insecure */
  readonly insecure?: boolean;
  /** --auth FILE (over cluster.auth) */
  readonly auth?: string;
}

export function loadInventory(file: string, overrides: InventoryOverrides = {}): Inventory {
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
  return parseInventory(doc, overrides);
}

export function parseInventory(doc: unknown, overrides: InventoryOverrides = {}): Inventory {
  const obj = (Array.isArray(doc) ? { hosts: doc } : doc) as Raw | null;
  if (!obj || typeof obj !== "object" || !Array.isArray(obj.hosts) || obj.hosts.length === 0) {
    throw new TopologyError("inventory must be a list of hosts, or an object with a non-empty `hosts` list");
  }
  record("inventory", obj, ["cluster", "hosts"]);
  const rawHosts = (obj.hosts as unknown[]).map((h, i) => {
    if (!h || typeof h !== "object" || Array.isArray(h)) throw new TopologyError(`hosts[${i}] must be a mapping with an address`);
    return record(`hosts[${i}]`, h, HOST_KEYS);
  });
  rawHosts.forEach((h, i) => {
    if (h.address === undefined) throw new TopologyError(`hosts[${i}] has no address`);
  });
  const settings = clusterSettings(record("cluster", obj.cluster, CLUSTER_KEYS), rawHosts.length);
  const cluster = { ...settings, ...(overrides.insecure ? { insecure: true } : {}), ...(overrides.auth !== undefined ? { auth: overrides.auth } : {}) };
  const hosts = rawHosts.map(hostSpec);
  const targets = rawHosts.map((h, i) => sshTarget(h, i, hosts[i]!.address));
  const plan = planTopology({
    size: hosts.length,
    target: "hosts",
    stackName: cluster.name,
    dataDirRoot: cluster.dataDir,
    hosts,
    insecure: cluster.insecure,
    pkiDir: cluster.pkiDir,
    memberPkiDir: cluster.certDir,
    ...(cluster.token !== undefined ? { token: cluster.token } : {}),
    ...(cluster.heartbeatMs !== undefined ? { heartbeatMs: cluster.heartbeatMs } : {}),
    ...(cluster.electionMs !== undefined ? { electionMs: cluster.electionMs } : {}),
    ...(cluster.snapshotCount !== undefined ? { snapshotCount: cluster.snapshotCount } : {}),
  });
  const members: DeployMember[] = plan.members.map((m, i) => ({ name: m.name, plan: m, ssh: targets[i]! }));
  return { cluster, plan, members };
}

/** Hosts are grouped by ssh target: one session per machine, even when it runs several members. */
export function targetKey(t: SshTarget): string {
  return `${t.user ?? ""}@${t.host}:${t.port ?? 22}|${t.identity ?? ""}|${t.options.join(" ")}`;
}
