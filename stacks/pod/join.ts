/**
 * How a StatefulSet pod starts its member. The pod template is the same for every pod: it carries
 * the bootstrap settings (state "new", the initial cluster of the first `size` pods). Before the
 * server starts, the pod decides:
 *
 *  - restart:   its data dir already holds a WAL: the server restarts from it (etcd ignores the
 *               --initial-* settings then);
 *  - bootstrap: no member it knows of reports a leader, and it is one of the initial members:
 *               it starts with the template's settings, as every initial member does;
 *  - join:      a leader exists (the cluster runs): it finds itself in the member list by peer
 *               URL, or adds itself with MemberAdd once every other member has started (one
 *               unstarted member at a time, as etcd's strict reconfiguration check wants), and
 *               starts with state "existing" and the member list as its initial cluster. A
 *               member listed as started whose data is gone (a lost volume) is removed and added
 *               again: the cluster cannot take it back under its old ID.
 *
 * A pod beyond the initial members that finds no leader waits, then gives up (the kubelet
 * restarts it). Scale-down is the other way round and is not decided here: the member is removed
 * first (`etcdkit k8s scale-down`), then the replica count drops.
 */
import type { ClusterClient, ClusterMember } from "./cluster-client.js";

export type StartKind = "restart" | "bootstrap" | "join";

export interface PodIdentity {
  /** ETCD_NAME: the pod's name, `<statefulSet>-<ordinal>`. */
  readonly name: string;
  /** ETCD_INITIAL_ADVERTISE_PEER_URLS. */
  readonly peerUrls: readonly string[];
  /** ETCD_ADVERTISE_CLIENT_URLS: the first one's host starts with `<name>.`, the other pods' are the same with their names. */
  readonly clientUrls: readonly string[];
  /** The names in ETCD_INITIAL_CLUSTER: the bootstrap members. */
  readonly initialMembers: readonly string[];
  readonly hasWal: boolean;
}

export interface StartDecision {
  readonly kind: StartKind;
  /** join: ETCD_INITIAL_CLUSTER for the server. */
  readonly initialCluster?: string;
  readonly reason: string;
}

export interface JoinDeps {
  readonly client: ClusterClient;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: (msg: string, fields?: Record<string, unknown>) => void;
  /** How often to look for a leader (or for unstarted members to start) before giving up. */
  readonly attempts?: number;
  readonly intervalMs?: number;
}

export class StartError extends Error {}

/** `etcd-3-4` -> { statefulSet: "etcd-3", ordinal: 4 }. */
export function podOrdinal(name: string): { statefulSet: string; ordinal: number } {
  const m = /^(.+)-(\d+)$/.exec(name);
  if (!m) throw new StartError(`member name "${name}" is not a StatefulSet pod name (<statefulset>-<ordinal>)`);
  return { statefulSet: m[1]!, ordinal: Number(m[2]) };
}

/** The client URLs of the other pods that may hold the cluster: ordinals below max(initial members, own ordinal), other than itself. */
export function peerClientUrls(id: PodIdentity): string[] {
  const { statefulSet, ordinal } = podOrdinal(id.name);
  const own = id.clientUrls[0];
  if (!own) throw new StartError("no advertise client URL");
  const u = new URL(own);
  if (!u.hostname.startsWith(`${id.name}.`)) throw new StartError(`advertise client URL ${own} does not start with the pod name ${id.name}: cannot find the other pods`);
  const domain = u.hostname.slice(id.name.length + 1);
  const upTo = Math.max(id.initialMembers.length, ordinal);
  const urls: string[] = [];
  for (let k = 0; k < upTo; k++) if (k !== ordinal) urls.push(`${u.protocol}//${statefulSet}-${k}.${domain}:${u.port || 2379}`);
  return urls;
}

/** The first URL whose member sees a leader, or undefined. */
async function findLeader(client: ClusterClient, urls: readonly string[]): Promise<string | undefined> {
  const seen = await Promise.all(urls.map((u) => client.leader(u).then((l) => (l !== "0" && l !== "" ? u : undefined), () => undefined)));
  return seen.find((u) => u !== undefined);
}

const sameUrls = (a: readonly string[], b: readonly string[]) => [...a].sort().join(",") === [...b].sort().join(",");

/**
 * `name=url,...` for every member; the joining member (`selfId`) under its own name, another
 * member that has not started yet (no name published) under its pod name, the first label of its
 * peer URL's host (etcd matches the joining cluster by peer URLs; the names only label them).
 */
export function initialClusterOf(members: readonly ClusterMember[], selfId: string, selfName: string): string {
  const nameOf = (m: ClusterMember) => (m.id === selfId ? selfName : m.name !== "" ? m.name : new URL(m.peerUrls[0]!).hostname.split(".")[0]!);
  return members.flatMap((m) => m.peerUrls.map((u) => `${nameOf(m)}=${u}`)).join(",");
}

export async function decideStart(id: PodIdentity, deps: JoinDeps): Promise<StartDecision> {
  if (id.hasWal) return { kind: "restart", reason: "the data dir holds a WAL" };
  const attempts = deps.attempts ?? 60;
  const interval = deps.intervalMs ?? 2000;
  const initial = id.initialMembers.includes(id.name);
  const peers = peerClientUrls(id);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const via = await findLeader(deps.client, peers);
    if (!via) {
      if (initial) return { kind: "bootstrap", reason: `no other member reports a leader (asked ${peers.length}): bootstrapping with the initial cluster` };
      deps.log("no member reports a leader yet: waiting to join", { attempt, asked: peers });
      await deps.sleep(interval);
      continue;
    }
    try {
      const d = await joinThrough(via, id, deps, attempt);
      if (d) return d;
    } catch (e) {
      // etcd refuses a reconfiguration while it is not sure of its peers ("unhealthy cluster"),
      // and a member may go away between two calls: try again, as a restarted pod would.
      deps.log("membership change refused or failed: trying again", { via, attempt, error: (e as Error).message });
    }
    await deps.sleep(interval);
  }
  throw new StartError(
    initial
      ? `${id.name} could not join the running cluster after ${attempts} attempts (asked ${peers.join(", ")})`
      : `${id.name} is not an initial member and could not join a cluster with a leader after ${attempts} attempts (asked ${peers.join(", ")})`,
  );
}

/** One try at joining through `via` (a member that sees a leader); undefined: wait and try again. */
async function joinThrough(via: string, id: PodIdentity, deps: JoinDeps, attempt: number): Promise<StartDecision | undefined> {
  let members = await deps.client.members(via);
  let me = members.find((m) => sameUrls(m.peerUrls, id.peerUrls));
  if (me && me.name !== "") {
    // Listed as started, yet the data is gone: the old identity cannot come back.
    deps.log("listed as a started member but the data dir is empty: removing the old member and adding it again", { id: me.id, via });
    members = await deps.client.remove(via, me.id);
    me = undefined;
  }
  if (!me) {
    const unstarted = members.filter((m) => m.name === "");
    if (unstarted.length > 0) {
      deps.log("another member was added and has not started yet: waiting before adding this one", { unstarted: unstarted.map((m) => m.peerUrls.join(",")), attempt });
      return undefined;
    }
    const added = await deps.client.add(via, id.peerUrls);
    deps.log("added this member to the cluster", { id: added.id, via });
    return { kind: "join", initialCluster: initialClusterOf(added.members, added.id, id.name), reason: `added with MemberAdd through ${via}` };
  }
  // Listed and not started (an initial member late to a cluster the others formed, or a second
  // try after MemberAdd): join as listed, whether or not other listed members have started.
  return { kind: "join", initialCluster: initialClusterOf(members, me.id, id.name), reason: `already in the member list (unstarted) at ${via}` };
}
