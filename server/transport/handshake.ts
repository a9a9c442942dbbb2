import { Metadata, status } from "@grpc/grpc-js";
import { idToHex } from "../membership/ids.js";

/** Who is calling whom, in which cluster: checked on every peer call so members of different clusters never mix. */
export interface PeerIdentity {
  readonly clusterId: bigint;
  readonly from: bigint;
  readonly to: bigint;
}

export function identityMetadata(id: PeerIdentity): Metadata {
  const md = new Metadata();
  md.set("x-etcd-cluster-id", idToHex(id.clusterId));
  md.set("x-etcd-from", idToHex(id.from));
  md.set("x-etcd-to", idToHex(id.to));
  return md;
}

export function readIdentity(md: Metadata): PeerIdentity | undefined {
  const get = (k: string) => {
    const v = md.get(k)[0];
    return typeof v === "string" && /^[0-9a-f]{1,16}$/.test(v) ? BigInt("0x" + v) : undefined;
  };
  const clusterId = get("x-etcd-cluster-id");
  const from = get("x-etcd-from");
  const to = get("x-etcd-to");
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
