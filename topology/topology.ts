/**
 * The topology model: from a cluster size and a few options to every member's MemberConfig and
 * every port the deployment binds. Pure: no I/O, no clock, no randomness. Everything that deploys
 * (the CDKTF stacks, the local runner, the SSH deploy) plans here first, so a bad topology is
 * refused before anything is created.
 *
 * Port scheme (documented in stacks/README.md):
 *  - docker: inside every container the member listens on 2379 (client) and 2380 (peer) on its own
 *    static address; peers talk over the stack's network by address. The client port is published
 *    on 127.0.0.1 only, at host port `hostPortBase + 100 * size + index` (default base 23000):
 *    etcd-1 -> 23101; etcd-3 -> 23301..23303; etcd-5 -> 23501..23505; etcd-7 -> 23701..23707.
 *  - local: everything on 127.0.0.1; member i (1-based) gets client port `basePort + 2(i-1)` and
 *    peer port `basePort + 2(i-1) + 1` (default base 32379: 32379/32380, 32381/32382, ...).
 *  - hosts: one member per host entry, client/peer ports 2379/2380 unless the entry says otherwise
 *    (several entries may share an address with distinct ports).
 *
 * TLS is the default (tls.ts): https:// URLs, each member with its certificates from `etcdkit pki`,
 * client certificates required on both ports. `insecure` opts out (http://, no certificates).
 */
import { type InitialMember, type LogLevel, type MemberConfig } from "../server/config/member-config.js";
import { parseConfig } from "../server/config/parse.js";
import { toEnv } from "../server/config/render.js";
import { TopologyError } from "./errors.js";
import { contains, intToIp, ipToInt, isIpv4, overlaps, parseSubnet, usableHosts, type Ipv4Subnet } from "./ipv4.js";
import { checkHostPath, checkMemberAddress, checkNoControl, showValue } from "./safe-values.js";
import { kubernetesDrafts, kubernetesMemberNames, type KubernetesPlan, type KubernetesTopologyOptions } from "./kubernetes.js";
import { clientTlsOf, DEFAULT_MEMBER_PKI_DIR, defaultPkiDir, memberTlsOf, scheme, securityOf, etcdctlTlsFlags, type ClientTls, type MemberTls } from "./tls.js";

export const CLUSTER_SIZES = [1, 3, 5, 7] as const;
export type ClusterSize = (typeof CLUSTER_SIZES)[number];
export type Target = "docker" | "local" | "hosts" | "kubernetes";

export const DEFAULTS = {
  namePrefix: "etcd",
  image: "etcd-ts:local",
  clientPort: 2379,
  peerPort: 2380,
  hostPortBase: 23000,
  localBasePort: 32379,
  dockerDataDirRoot: "/var/lib/etcd",
  hostsDataDirRoot: "/var/lib/etcdkit",
  subnetOf: (size: number) => `172.28.${size}.0/24`,
  heartbeatMs: 100,
  electionMs: 1000,
  snapshotCount: 100000,
} as const;

/** A bare host (target "hosts"). */
export interface HostSpec {
  /** Address or DNS name peers and clients use to reach the host. */
  readonly address: string;
  /** Address the member binds; default: `address` when it is an IPv4 literal, else 0.0.0.0. */
  readonly listenAddress?: string;
  readonly clientPort?: number;
  readonly peerPort?: number;
  /** Member name on this host; default `<namePrefix>-<index>`. */
  readonly name?: string;
}

export interface TopologyOptions {
  /** 1, 3, 5 or 7. */
  readonly size: number;
  readonly target?: Target;
  /** Default `etcd-<size>`; names the stack, the docker network, containers and volumes. */
  readonly stackName?: string;
  /** Member names are `<namePrefix>-1` ... (default "etcd"). */
  readonly namePrefix?: string;
  /** Default `etcdkit-<stackName>`. */
  readonly token?: string;
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
  readonly snapshotCount?: number;
  /** 0: etcd's default (2 GiB). */
  readonly quotaBackendBytes?: number;
  readonly logLevel?: LogLevel;
  /** Docker image the containers run (docker target). */
  readonly image?: string;
  /** Member data dirs are `<dataDirRoot>/<member name>`. */
  readonly dataDirRoot?: string;
  /** docker: the network's subnet (default 172.28.<size>.0/24). */
  readonly subnet?: string;
  /** docker: the network's gateway (default: the first usable address). */
  readonly gateway?: string;
  /** docker: static member addresses (default: the addresses right after the gateway). */
  readonly addresses?: readonly string[];
  /** docker: published client port of member i is hostPortBase + 100 * size + i. */
  readonly hostPortBase?: number;
  /** docker: explicit published client ports, one per member (overrides hostPortBase). */
  readonly hostPorts?: readonly number[];
  /** docker and hosts: client and peer port of a member on its own address. */
  readonly clientPort?: number;
  readonly peerPort?: number;
  /** local: member i listens on basePort + 2(i-1) (client) and basePort + 2(i-1) + 1 (peer). */
  readonly basePort?: number;
  /** hosts: one entry per member. */
  readonly hosts?: readonly HostSpec[];
  /** kubernetes: namespace, names, replicas, how clients reach the members (see kubernetes.ts). */
  readonly kubernetes?: KubernetesTopologyOptions;
  /** Plaintext http:// without certificates (default false: TLS on client and peer ports, see tls.ts). */
  readonly insecure?: boolean;
  /** The PKI on the deploying machine (`etcdkit pki --dir`); default .etcdkit/pki/<stackName>. */
  readonly pkiDir?: string;
  /** docker, hosts, kubernetes: where members find their certificates, `<memberPkiDir>/<member>/` (default /etc/etcdkit/pki). */
  readonly memberPkiDir?: string;
}

/** A port bound on some machine, for clash checks: `host` is the machine as the plan knows it. */
export interface PortBinding {
  readonly host: string;
  readonly port: number;
  readonly member: string;
  readonly purpose: "client" | "peer" | "published client";
}

export interface MemberPlan {
  /** 1-based. */
  readonly index: number;
  readonly name: string;
  readonly config: MemberConfig;
  /** Where peers reach the member (container address, host address, 127.0.0.1). */
  readonly address: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly peerUrl: string;
  /** How a client on the deploying machine reaches the member. */
  readonly clientUrl: string;
  /** docker: container, volume, published host port. */
  readonly containerName?: string;
  readonly volumeName?: string;
  readonly hostPort?: number;
  /** hosts: the host entry. */
  readonly host?: HostSpec;
  /** kubernetes: the pod (= member name), its ordinal, in-cluster client URL, node port. */
  readonly ordinal?: number;
  readonly inClusterClientUrl?: string;
  readonly nodePort?: number;
  /** kubernetes: a member beyond the bootstrap size, which joins with `member add` (state "existing"). */
  readonly joins?: boolean;
  /** TLS (absent when insecure): the member's certificate paths and the files to put there. */
  readonly tls?: MemberTls;
}

export interface DockerNetworkPlan {
  readonly name: string;
  readonly subnet: string;
  readonly gateway: string;
}

export interface TopologyPlan {
  readonly stackName: string;
  readonly size: ClusterSize;
  readonly target: Target;
  readonly token: string;
  readonly image: string;
  readonly members: readonly MemberPlan[];
  /** Client URLs reachable from the deploying machine. */
  readonly endpoints: readonly string[];
  /** `etcdctl --endpoints=... [--cacert=... --cert=... --key=...]` (append a command such as `endpoint status -w table`). */
  readonly etcdctl: string;
  /** True when the plan runs without TLS. */
  readonly insecure: boolean;
  /** TLS (absent when insecure): the CA and root client certificate on the deploying machine. */
  readonly clientTls?: ClientTls;
  readonly network?: DockerNetworkPlan;
  readonly kubernetes?: KubernetesPlan;
  readonly bindings: readonly PortBinding[];
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function checkName(what: string, name: string): string {
  if (typeof name !== "string" || name.length === 0 || name.length > 63 || !DNS_LABEL.test(name)) {
    throw new TopologyError(
      `${what} ${showValue(name)} is not a valid name: use 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return name;
}

export function checkSize(size: unknown): ClusterSize {
  if (typeof size !== "number" || !(CLUSTER_SIZES as readonly number[]).includes(size)) {
    const hint =
      typeof size === "number" && Number.isInteger(size) && size > 0 && size % 2 === 0
        ? ` (an even count adds no fault tolerance: ${size} members tolerate as many failures as ${size - 1})`
        : "";
    throw new TopologyError(`cluster size must be 1, 3, 5 or 7, got ${String(size)}${hint}`);
  }
  return size as ClusterSize;
}

export function checkPort(what: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TopologyError(`${what} ${port} is not a TCP port (1-65535)`);
  return port;
}

function checkPositive(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new TopologyError(`${what} must be a non-negative integer, got ${n}`);
  return n;
}

const BASE_CONFIG: MemberConfig = parseConfig([], {}).config;

export function url(host: string, port: number, secure = false): string {
  return `${secure ? "https" : "http"}://${host}:${port}`;
}

export interface Draft {
  index: number;
  name: string;
  address: string;
  listenAddress: string;
  clientPort: number;
  peerPort: number;
  clientUrl: string;
  advertiseClientUrl: string;
  extra: Partial<MemberPlan>;
}

/** Plans one stack. Throws TopologyError for anything that could not be deployed. */
export function planTopology(opts: TopologyOptions): TopologyPlan {
  const size = checkSize(opts.size);
  const target: Target = opts.target ?? "docker";
  if (!["docker", "local", "hosts", "kubernetes"].includes(target)) throw new TopologyError(`target must be docker, local, hosts or kubernetes, got "${String(target)}"`);
  const stackName = checkName("stack name", opts.stackName ?? `etcd-${size}`);
  const prefix = checkName("name prefix", opts.namePrefix ?? DEFAULTS.namePrefix);
  const token = opts.token ?? `etcdkit-${stackName}`;
  if (typeof token !== "string" || !/^[A-Za-z0-9._-]{1,255}$/.test(token)) {
    throw new TopologyError(`cluster token ${showValue(token)} may only hold 1-255 letters, digits, '.', '_' and '-'`);
  }
  const heartbeat = checkPositive("heartbeat interval", opts.heartbeatMs ?? DEFAULTS.heartbeatMs);
  const election = checkPositive("election timeout", opts.electionMs ?? DEFAULTS.electionMs);
  if (heartbeat === 0) throw new TopologyError("heartbeat interval must be positive");
  if (election < 5 * heartbeat) {
    throw new TopologyError(`election timeout ${election}ms should be at least 5 times the heartbeat interval ${heartbeat}ms`);
  }
  if (election > 50000) throw new TopologyError(`election timeout ${election}ms is too long: keep it under 50 seconds`);
  const snapshotCount = checkPositive("snapshot count", opts.snapshotCount ?? DEFAULTS.snapshotCount);
  const quota = checkPositive("quota backend bytes", opts.quotaBackendBytes ?? 0);
  const image = opts.image ?? DEFAULTS.image;
  const insecure = opts.insecure === true;
  const tls = !insecure;
  const u = (host: string, port: number) => url(host, port, tls);
  const names =
    target === "kubernetes"
      ? kubernetesMemberNames(size, prefix, opts.kubernetes)
      : Array.from({ length: size }, (_, i) => opts.hosts?.[i]?.name ?? `${prefix}-${i + 1}`);
  names.forEach((n) => checkName("member name", n));
  const dupName = names.find((n, i) => names.indexOf(n) !== i);
  if (dupName) throw new TopologyError(`member name "${dupName}" is used twice`);

  let drafts: Draft[];
  let network: DockerNetworkPlan | undefined;
  let kubernetes: KubernetesPlan | undefined;
  let dataDirRoot: string;
  const bindings: PortBinding[] = [];

  if (target === "docker") {
    const subnet = parseSubnet(opts.subnet ?? DEFAULTS.subnetOf(size));
    if (usableHosts(subnet) < size + 1) {
      throw new TopologyError(
        `subnet ${subnet.cidr} is too small for ${size} member${size === 1 ? "" : "s"} and a gateway: it has ${usableHosts(subnet)} usable address${usableHosts(subnet) === 1 ? "" : "es"}, ${size + 1} needed`,
      );
    }
    const gateway = opts.gateway ?? intToIp(subnet.network + 1);
    checkHostAddress(subnet, gateway, "gateway");
    const addresses = opts.addresses ? [...opts.addresses] : defaultAddresses(subnet, gateway, size);
    if (addresses.length !== size) throw new TopologyError(`${addresses.length} member addresses given for ${size} members`);
    addresses.forEach((a, i) => {
      checkHostAddress(subnet, a, `member ${names[i]} address`);
      if (a === gateway) throw new TopologyError(`member ${names[i]} address ${a} is the gateway of ${subnet.cidr}`);
    });
    const dupAddr = addresses.find((a, i) => addresses.indexOf(a) !== i);
    if (dupAddr) throw new TopologyError(`address ${dupAddr} is given to two members`);
    const clientPort = checkPort("client port", opts.clientPort ?? DEFAULTS.clientPort);
    const peerPort = checkPort("peer port", opts.peerPort ?? DEFAULTS.peerPort);
    if (clientPort === peerPort) throw new TopologyError(`client and peer port are both ${clientPort}`);
    const base = opts.hostPortBase ?? DEFAULTS.hostPortBase;
    const hostPorts = opts.hostPorts ? [...opts.hostPorts] : names.map((_, i) => base + 100 * size + i + 1);
    if (hostPorts.length !== size) throw new TopologyError(`${hostPorts.length} host ports given for ${size} members`);
    hostPorts.forEach((p, i) => checkPort(`published client port of ${names[i]}`, p));
    network = { name: `${stackName}-net`, subnet: subnet.cidr, gateway };
    dataDirRoot = checkHostPath("data dir root", opts.dataDirRoot ?? DEFAULTS.dockerDataDirRoot);
    drafts = names.map((name, i) => {
      bindings.push({ host: "127.0.0.1", port: hostPorts[i]!, member: name, purpose: "published client" });
      return {
        index: i + 1,
        name,
        address: addresses[i]!,
        listenAddress: "0.0.0.0",
        clientPort,
        peerPort,
        clientUrl: u("127.0.0.1", hostPorts[i]!),
        advertiseClientUrl: u(addresses[i]!, clientPort),
        extra: { containerName: `${stackName}-${name}`, volumeName: `${stackName}-${name}-data`, hostPort: hostPorts[i]! },
      };
    });
  } else if (target === "local") {
    if (opts.hosts || opts.subnet || opts.addresses) throw new TopologyError("the local target runs every member on 127.0.0.1: hosts, subnet and addresses do not apply");
    const base = opts.basePort ?? DEFAULTS.localBasePort;
    // A local path may hold spaces and the like (it is quoted where it is written), but no control characters.
    dataDirRoot = checkNoControl("data dir root", opts.dataDirRoot ?? `.etcdkit/local/${stackName}/data`);
    drafts = names.map((name, i) => {
      const clientPort = checkPort(`client port of ${name}`, base + 2 * i);
      const peerPort = checkPort(`peer port of ${name}`, base + 2 * i + 1);
      bindings.push({ host: "127.0.0.1", port: clientPort, member: name, purpose: "client" });
      bindings.push({ host: "127.0.0.1", port: peerPort, member: name, purpose: "peer" });
      return {
        index: i + 1,
        name,
        address: "127.0.0.1",
        listenAddress: "127.0.0.1",
        clientPort,
        peerPort,
        clientUrl: u("127.0.0.1", clientPort),
        advertiseClientUrl: u("127.0.0.1", clientPort),
        extra: {},
      };
    });
  } else if (target === "kubernetes") {
    if (opts.hosts || opts.subnet || opts.addresses || opts.hostPorts) throw new TopologyError("the kubernetes target names its members after the StatefulSet's pods: hosts, subnet, addresses and host ports do not apply");
    dataDirRoot = checkHostPath("data dir root", opts.dataDirRoot ?? DEFAULTS.dockerDataDirRoot);
    const k = kubernetesDrafts({ size, stackName, prefix, names, clientPort: opts.clientPort ?? DEFAULTS.clientPort, peerPort: opts.peerPort ?? DEFAULTS.peerPort, options: opts.kubernetes, scheme: scheme(insecure) });
    kubernetes = k.plan;
    bindings.push(...k.bindings);
    drafts = k.drafts;
  } else {
    const hosts = opts.hosts ?? [];
    if (hosts.length !== size) throw new TopologyError(`the hosts target needs one host per member: ${hosts.length} hosts given for ${size} members`);
    // Paths and addresses on hosts end up in root's shell commands, env files and units: strict.
    dataDirRoot = checkHostPath("data dir root", opts.dataDirRoot ?? DEFAULTS.hostsDataDirRoot);
    drafts = hosts.map((h, i) => {
      const name = names[i]!;
      checkMemberAddress(`address of host ${i + 1} (${name})`, h?.address);
      const listenAddress = h.listenAddress ?? (isIpv4(h.address) ? h.address : "0.0.0.0");
      if (typeof listenAddress !== "string" || !isIpv4(listenAddress)) throw new TopologyError(`listen address ${showValue(listenAddress)} of ${name} must be an IPv4 address`);
      const clientPort = checkPort(`client port of ${name}`, h.clientPort ?? opts.clientPort ?? DEFAULTS.clientPort);
      const peerPort = checkPort(`peer port of ${name}`, h.peerPort ?? opts.peerPort ?? DEFAULTS.peerPort);
      bindings.push({ host: h.address, port: clientPort, member: name, purpose: "client" });
      bindings.push({ host: h.address, port: peerPort, member: name, purpose: "peer" });
      return {
        index: i + 1,
        name,
        address: h.address,
        listenAddress,
        clientPort,
        peerPort,
        clientUrl: u(h.address, clientPort),
        advertiseClientUrl: u(h.address, clientPort),
        extra: { host: h },
      };
    });
  }
  checkClashes(bindings, `stack ${stackName}`);

  // Kubernetes: the first `size` pods bootstrap the cluster; each later ordinal joins one at a time,
  // after `member add`, with every member up to itself as its initial cluster.
  const peersUpTo = (n: number): InitialMember[] => drafts.slice(0, n).map((d) => ({ name: d.name, peerUrls: [u(d.address, d.peerPort)] }));
  const initialCluster = peersUpTo(size);
  const pkiDir = opts.pkiDir ?? defaultPkiDir(stackName);
  const memberPkiDir = opts.memberPkiDir ?? DEFAULT_MEMBER_PKI_DIR;
  const members: MemberPlan[] = drafts.map((d) => {
    const joins = d.index > size;
    const memberTls = tls ? memberTlsOf(target, pkiDir, memberPkiDir, d.name) : undefined;
    const config: MemberConfig = {
      ...BASE_CONFIG,
      name: d.name,
      dataDir: `${dataDirRoot}/${d.name}`,
      walDir: "",
      listenClientUrls: [u(d.listenAddress, d.clientPort)],
      advertiseClientUrls: [d.advertiseClientUrl],
      listenPeerUrls: [u(d.listenAddress, d.peerPort)],
      initialAdvertisePeerUrls: [u(d.address, d.peerPort)],
      initialCluster: joins ? peersUpTo(d.index) : initialCluster,
      initialClusterToken: token,
      initialClusterState: joins ? "existing" : "new",
      heartbeatIntervalMs: heartbeat,
      electionTimeoutMs: election,
      snapshotCount,
      quotaBackendBytes: quota,
      logLevel: opts.logLevel ?? BASE_CONFIG.logLevel,
      ...(memberTls ? securityOf(memberTls.paths) : {}),
    };
    // Every rendered value is one line of an env file: none may hold a newline or another control character.
    for (const [k, v] of Object.entries(toEnv(config))) checkNoControl(`${k} of ${d.name}`, v);
    // The server's own parser must accept what we render: any disagreement is a planning error.
    try {
      parseConfig([], toEnv(config));
    } catch (e) {
      throw new TopologyError(`member ${d.name}: the rendered settings are refused by the server's parser: ${(e as Error).message}`);
    }
    return {
      index: d.index,
      name: d.name,
      config,
      address: d.address,
      clientPort: d.clientPort,
      peerPort: d.peerPort,
      peerUrl: u(d.address, d.peerPort),
      clientUrl: d.clientUrl,
      ...d.extra,
      ...(joins ? { joins } : {}),
      ...(memberTls ? { tls: memberTls } : {}),
    };
  });
  const endpoints = members.map((m) => m.clientUrl);
  const clientTls = tls ? clientTlsOf(pkiDir) : undefined;
  return {
    stackName,
    size,
    target,
    token,
    image,
    members,
    endpoints,
    // host:port, as etcd's guides write it (etcd-ts cannot yet answer etcdctl's per-endpoint
    // commands when the endpoints carry a scheme: see README, "Known issues").
    etcdctl: `etcdctl --endpoints=${endpoints.map((e) => new URL(e).host).join(",")}${clientTls ? ` ${etcdctlTlsFlags(clientTls)}` : ""}`,
    insecure,
    ...(clientTls ? { clientTls } : {}),
    ...(network ? { network } : {}),
    ...(kubernetes ? { kubernetes } : {}),
    bindings,
  };
}

function defaultAddresses(subnet: Ipv4Subnet, gateway: string, size: number): string[] {
  const gw = ipToInt(gateway);
  const out: string[] = [];
  for (let n = subnet.network + 1; n < subnet.network + subnet.size - 1 && out.length < size; n++) if (n !== gw) out.push(intToIp(n));
  return out;
}

function checkHostAddress(subnet: Ipv4Subnet, ip: string, what: string): void {
  if (!isIpv4(ip)) throw new TopologyError(`${what} "${ip}" is not an IPv4 address`);
  if (!contains(subnet, ip)) throw new TopologyError(`${what} ${ip} is outside the subnet ${subnet.cidr}`);
  const n = ipToInt(ip);
  if (n === subnet.network) throw new TopologyError(`${what} ${ip} is the network address of ${subnet.cidr}`);
  if (n === subnet.network + subnet.size - 1) throw new TopologyError(`${what} ${ip} is the broadcast address of ${subnet.cidr}`);
}

function checkClashes(bindings: readonly (PortBinding & { stack?: string })[], where: string): void {
  const seen = new Map<string, PortBinding & { stack?: string }>();
  for (const b of bindings) {
    const key = `${b.host}:${b.port}`;
    const prev = seen.get(key);
    if (prev) {
      const who = (x: PortBinding & { stack?: string }) => `${x.stack ? `${x.stack}/` : ""}${x.member} (${x.purpose})`;
      throw new TopologyError(`port clash in ${where}: ${key} is wanted by ${who(prev)} and ${who(b)}`);
    }
    seen.set(key, b);
  }
}

/**
 * Checks stacks that run side by side: stack names, host ports (on 127.0.0.1 and on shared hosts),
 * docker networks and subnets must not collide.
 */
export function checkStacks(plans: readonly TopologyPlan[]): void {
  const names = plans.map((p) => p.stackName);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new TopologyError(`stack name "${dup}" is declared twice`);
  checkClashes(
    plans.flatMap((p) => p.bindings.map((b) => ({ ...b, stack: p.stackName }))),
    "the declared stacks",
  );
  const docker = plans.filter((p) => p.network);
  for (let i = 0; i < docker.length; i++) {
    for (let j = i + 1; j < docker.length; j++) {
      const a = docker[i]!;
      const b = docker[j]!;
      if (overlaps(parseSubnet(a.network!.subnet), parseSubnet(b.network!.subnet))) {
        throw new TopologyError(`subnets overlap: ${a.stackName} uses ${a.network!.subnet} and ${b.stackName} uses ${b.network!.subnet}`);
      }
    }
  }
}

/** Plans several stacks and checks them against each other. */
export function planStacks(options: readonly TopologyOptions[]): TopologyPlan[] {
  const plans = options.map(planTopology);
  checkStacks(plans);
  return plans;
}
