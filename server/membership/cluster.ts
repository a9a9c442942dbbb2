/**
 * Cluster membership as a value: every change returns a new Cluster, so the applier can
 * compute the next state, check it, and only then make it current.
 */
export interface Member {
  readonly id: bigint;
  /** Empty until the member publishes its attributes through raft (as etcd). */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface Cluster {
  readonly clusterId: bigint;
  readonly members: ReadonlyMap<bigint, Member>;
  /** Members removed from this cluster: they may never come back with the same ID. */
  readonly removed: ReadonlySet<bigint>;
}

export type MembershipChange =
  | { readonly kind: "add"; readonly member: Member }
  | { readonly kind: "remove"; readonly id: bigint }
  | { readonly kind: "update"; readonly id: bigint; readonly peerUrls: readonly string[] }
  | { readonly kind: "promote"; readonly id: bigint }
  | { readonly kind: "attributes"; readonly id: bigint; readonly name: string; readonly clientUrls: readonly string[] };

export function emptyCluster(clusterId: bigint): Cluster {
  return { clusterId, members: new Map(), removed: new Set() };
}

export function applyChange(c: Cluster, ch: MembershipChange): Cluster {
  const members = new Map(c.members);
  const removed = new Set(c.removed);
  switch (ch.kind) {
    case "add":
      members.set(ch.member.id, ch.member);
      break;
    case "remove":
      members.delete(ch.id);
      removed.add(ch.id);
      break;
    case "update": {
      const m = members.get(ch.id);
      if (m) members.set(ch.id, { ...m, peerUrls: ch.peerUrls });
      break;
    }
    case "promote": {
      const m = members.get(ch.id);
      if (m) members.set(ch.id, { ...m, isLearner: false });
      break;
    }
    case "attributes": {
      const m = members.get(ch.id);
      if (m) members.set(ch.id, { ...m, name: ch.name, clientUrls: ch.clientUrls });
      break;
    }
  }
  return { clusterId: c.clusterId, members, removed };
}

/** Members in etcd's listing order (by ID). */
export function sortedMembers(c: Cluster): Member[] {
  return [...c.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** JSON with bigint IDs as decimal strings: the form raft conf-change contexts and snapshots carry. */
export function encodeMember(m: Member): Uint8Array {
  return Buffer.from(JSON.stringify({ ...m, id: m.id.toString() }));
}

export function decodeMember(b: Uint8Array): Member {
  const o = JSON.parse(Buffer.from(b).toString("utf8")) as Omit<Member, "id"> & { id: string };
  return { id: BigInt(o.id), name: o.name ?? "", peerUrls: o.peerUrls ?? [], clientUrls: o.clientUrls ?? [], isLearner: !!o.isLearner };
}

/** The peer port's GET /members body (etcd's shape: hex IDs). */
export function membersToJson(c: Cluster): object[] {
  return sortedMembers(c).map((m) => ({ id: m.id.toString(16), name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner }));
}

export function membersFromJson(clusterId: bigint, list: Array<{ id: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner?: boolean }>): Cluster {
  const members = new Map<bigint, Member>();
  for (const m of list) {
    const id = BigInt("0x" + m.id);
    members.set(id, { id, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, isLearner: !!m.isLearner });
  }
  return { clusterId, members, removed: new Set() };
}

export function encodeCluster(c: Cluster): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      clusterId: c.clusterId.toString(),
      members: sortedMembers(c).map((m) => ({ ...m, id: m.id.toString() })),
      removed: [...c.removed].map(String),
    }),
  );
}

export function decodeCluster(b: Uint8Array): Cluster {
  const o = JSON.parse(Buffer.from(b).toString("utf8")) as { clusterId: string; members: (Omit<Member, "id"> & { id: string })[]; removed: string[] };
  return {
    clusterId: BigInt(o.clusterId),
    members: new Map(o.members.map((m) => [BigInt(m.id), { ...m, id: BigInt(m.id) }])),
    removed: new Set(o.removed.map(BigInt)),
  };
}
