/**
 * The kubernetes target of the topology model: members are the pods of one StatefulSet, named
 * `<statefulSet>-<ordinal>` (0-based, as Kubernetes names them), reached by peers at their stable
 * DNS names under the headless peer Service: `<pod>.<peerService>.<namespace>.svc.<clusterDomain>`.
 *
 * `size` pods bootstrap the cluster (state "new", the same initial cluster for all); `replicas`
 * may differ from it later: ordinals at or above `size` join one at a time through `member add`
 * (state "existing"), and a scale-down removes members before the replica count drops (see
 * stacks/kubernetes/README.md). Pure: no I/O.
 *
 * Client access from the deploying machine (`expose`):
 *  - "cluster": no external access; client URLs are the in-cluster pod DNS names (a pod in the
 *    cluster, or `kubectl port-forward`, reaches them).
 *  - "nodeport": one NodePort Service per member at `nodePortBase + 100 * size + ordinal + 1`
 *    (default base 30000: etcd-k8s-3 -> 30301..30303, inside Kubernetes' default 30000-32767
 *    range), reached at `nodeAddress` (an address of any node).
 */
import { TopologyError } from "./errors.js";
import { checkMemberAddress, showValue } from "./safe-values.js";
import type { Draft, PortBinding } from "./topology.js";

export type KubernetesExpose = "cluster" | "nodeport";

export interface KubernetesTopologyOptions {
  /** Namespace the StatefulSet and its Services live in (a DNS label). */
  readonly namespace: string;
  /** Default `<namePrefix>-<size>`: names the StatefulSet, so the pods are `<name>-0`, `<name>-1`, ... */
  readonly statefulSet?: string;
  /** Default "cluster.local". */
  readonly clusterDomain?: string;
  /** Pods the StatefulSet runs now (default: the bootstrap size). */
  readonly replicas?: number;
  readonly expose?: KubernetesExpose;
  readonly nodePortBase?: number;
  /** nodeport: an address (IPv4 or DNS name) of a node, where the node ports are reached. */
  readonly nodeAddress?: string;
}

export interface KubernetesPlan {
  readonly namespace: string;
  readonly statefulSet: string;
  /** Headless Service giving each pod its stable DNS name (publishes not-ready pods: peers must find each other before anyone is ready). */
  readonly peerService: string;
  /** ClusterIP Service over the ready members, for in-cluster clients. */
  readonly clientService: string;
  readonly clusterDomain: string;
  /** Members that bootstrap the cluster. */
  readonly size: number;
  readonly replicas: number;
  readonly expose: KubernetesExpose;
  readonly nodeAddress?: string;
  /** `https://<clientService>.<namespace>.svc.<domain>:<clientPort>`. */
  readonly clientServiceUrl: string;
  /** `<peerService>.<namespace>.svc.<domain>`: pod DNS names are `<pod>.<this>`. */
  readonly podDomain: string;
}

export const KUBERNETES_DEFAULTS = {
  clusterDomain: "cluster.local",
  nodePortBase: 30000,
  nodePortRange: [30000, 32767] as const,
  /** At most this many members (the node-port scheme leaves 99 ports per stack). */
  maxReplicas: 99,
} as const;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function label(what: string, v: unknown, max = 63): string {
  if (typeof v !== "string" || v.length === 0 || v.length > max || !DNS_LABEL.test(v)) {
    throw new TopologyError(`${what} ${showValue(v)} is not a valid Kubernetes name: 1-${max} lower-case letters, digits and '-', starting and ending with a letter or digit`);
  }
  return v;
}

function required(o: KubernetesTopologyOptions | undefined): KubernetesTopologyOptions {
  if (!o) throw new TopologyError("the kubernetes target needs kubernetes options (at least a namespace)");
  return o;
}

function replicasOf(size: number, o: KubernetesTopologyOptions): number {
  const r = o.replicas ?? size;
  if (!Number.isInteger(r) || r < 1 || r > KUBERNETES_DEFAULTS.maxReplicas) {
    throw new TopologyError(`replicas must be an integer from 1 to ${KUBERNETES_DEFAULTS.maxReplicas}, got ${String(r)}`);
  }
  return r;
}

/** The StatefulSet's name: `<prefix>-<size>` unless given. */
export function statefulSetName(size: number, prefix: string, o: KubernetesTopologyOptions | undefined): string {
  // A pod name is `<sts>-<ordinal>` and carries the label controller-revision-hash=<sts>-<hash>
  // (at most 63 characters): Kubernetes keeps StatefulSet names to 52 characters for that reason.
  return label("StatefulSet name", o?.statefulSet ?? `${prefix}-${size}`, 52);
}

/** Pod names of ordinals 0..replicas-1: the member names. */
export function kubernetesMemberNames(size: number, prefix: string, opts: KubernetesTopologyOptions | undefined): string[] {
  const o = required(opts);
  const sts = statefulSetName(size, prefix, o);
  return Array.from({ length: replicasOf(size, o) }, (_, i) => `${sts}-${i}`);
}

export interface KubernetesDraftInput {
  readonly size: number;
  readonly stackName: string;
  readonly prefix: string;
  readonly names: readonly string[];
  readonly clientPort: number;
  readonly peerPort: number;
  readonly options: KubernetesTopologyOptions | undefined;
  /** https unless the plan is insecure. */
  readonly scheme: "http" | "https";
}

/** Member drafts, the plan's kubernetes part and the node ports it binds (on every node). */
export function kubernetesDrafts(input: KubernetesDraftInput): { drafts: Draft[]; plan: KubernetesPlan; bindings: PortBinding[] } {
  const o = required(input.options);
  const namespace = label("namespace", o.namespace);
  const sts = statefulSetName(input.size, input.prefix, o);
  const clusterDomain = o.clusterDomain ?? KUBERNETES_DEFAULTS.clusterDomain;
  checkMemberAddress("cluster domain", clusterDomain);
  const expose = o.expose ?? "cluster";
  if (expose !== "cluster" && expose !== "nodeport") throw new TopologyError(`expose must be "cluster" or "nodeport", got ${showValue(expose)}`);
  for (const [what, p] of [["client port", input.clientPort], ["peer port", input.peerPort]] as const) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new TopologyError(`${what} ${p} is not a TCP port (1-65535)`);
  }
  if (input.clientPort === input.peerPort) throw new TopologyError(`client and peer port are both ${input.clientPort}`);
  const peerService = label("peer Service name", `${sts}-peer`);
  const clientService = label("client Service name", `${sts}-client`);
  const podDomain = `${peerService}.${namespace}.svc.${clusterDomain}`;
  let nodeAddress: string | undefined;
  if (expose === "nodeport") {
    if (o.nodeAddress === undefined) throw new TopologyError("expose nodeport needs the address of a node (where clients reach the node ports)");
    nodeAddress = checkMemberAddress("node address", o.nodeAddress);
  } else if (o.nodeAddress !== undefined) {
    throw new TopologyError(`a node address is only used with expose nodeport (expose is "${expose}")`);
  }
  const base = o.nodePortBase ?? KUBERNETES_DEFAULTS.nodePortBase;
  const [lo, hi] = KUBERNETES_DEFAULTS.nodePortRange;
  const bindings: PortBinding[] = [];
  const drafts: Draft[] = input.names.map((name, i) => {
    const address = `${name}.${podDomain}`;
    checkMemberAddress(`DNS name of ${name}`, address);
    const inCluster = `${input.scheme}://${address}:${input.clientPort}`;
    let clientUrl = inCluster;
    let nodePort: number | undefined;
    if (nodeAddress !== undefined) {
      nodePort = base + 100 * input.size + i + 1;
      if (nodePort < lo || nodePort > hi) throw new TopologyError(`node port ${nodePort} of ${name} is outside Kubernetes' node port range ${lo}-${hi}`);
      bindings.push({ host: "kubernetes nodes", port: nodePort, member: name, purpose: "published client" });
      clientUrl = `${input.scheme}://${nodeAddress}:${nodePort}`;
    }
    return {
      index: i + 1,
      name,
      address,
      listenAddress: "0.0.0.0",
      clientPort: input.clientPort,
      peerPort: input.peerPort,
      clientUrl,
      advertiseClientUrl: inCluster,
      extra: { ordinal: i, inClusterClientUrl: inCluster, ...(nodePort !== undefined ? { nodePort } : {}) },
    };
  });
  const plan: KubernetesPlan = {
    namespace,
    statefulSet: sts,
    peerService,
    clientService,
    clusterDomain,
    size: input.size,
    replicas: input.names.length,
    expose,
    ...(nodeAddress !== undefined ? { nodeAddress } : {}),
    clientServiceUrl: `${input.scheme}://${clientService}.${namespace}.svc.${clusterDomain}:${input.clientPort}`,
    podDomain,
  };
  return { drafts, plan, bindings };
}
