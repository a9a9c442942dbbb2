import { Metadata, status } from "@grpc/grpc-js";
import { idToHex } from "../membership/ids.js";

/** Who is calling whom, in which cluster: checked on every peer call and raft stream so members of different clusters never mix. */
export interface PeerIdentity {
  readonly clusterId: bigint;
  readonly from: bigint;
  readonly to: bigint;
}

export function identityMetadata(id: PeerIdentity): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(identityHeaders(id))) md.set(k, v);
  return md;
}

/** The same identity as HTTP headers (a raft stream's upgrade request). */
export function identityHeaders(id: PeerIdentity): Record<string, string> {
  return { "x-etcd-cluster-id": idToHex(id.clusterId), "x-etcd-from": idToHex(id.from), "x-etcd-to": idToHex(id.to) };
}

/** Reads the identity from a call's metadata or a request's headers (`get` takes the lower-case name); undefined if any part is missing or malformed. */
export function identityFromHeaders(get: (name: string) => string | undefined): PeerIdentity | undefined {
  const id = (k: string) => {
    const v = get(k);
    return typeof v === "string" && /^[0-9a-f]{1,16}$/.test(v) ? BigInt("0x" + v) : undefined;
  };
  const clusterId = id("x-etcd-cluster-id");
  const from = id("x-etcd-from");
  const to = id("x-etcd-to");
  return clusterId === undefined || from === undefined || to === undefined ? undefined : { clusterId, from, to };
}

/** Why a peer call is refused, with etcd's wording where etcd has one. */
export type Refusal = { readonly code: status; readonly message: string };

export function checkIdentity(got: PeerIdentity | undefined, local: { clusterId: bigint; memberId: bigint; removed: ReadonlySet<bigint> }): Refusal | undefined {
  if (!got) return { code: status.INVALID_ARGUMENT, message: "etcdserver: peer request without cluster and member identity" };
  if (got.clusterId !== local.clusterId) {
    return {
      code: status.FAILED_PRECONDITION,
      message: `request cluster ID mismatch (local cluster ID ${idToHex(local.clusterId)}, remote cluster ID ${idToHex(got.clusterId)}): a member of another cluster (different --initial-cluster or --initial-cluster-token)`,
    };
  }
  if (local.removed.has(got.from)) return { code: status.PERMISSION_DENIED, message: "the member has been permanently removed from the cluster" };
  if (got.to !== local.memberId) return { code: status.FAILED_PRECONDITION, message: `request is for member ${idToHex(got.to)}, not this member ${idToHex(local.memberId)}` };
  return undefined;
}

export const REMOVED_MESSAGE = "the member has been permanently removed from the cluster";
