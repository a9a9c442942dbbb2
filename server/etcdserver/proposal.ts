/**
 * What a Normal raft entry carries: [kind: u8][request id: u64 BE][payload].
 * KV payloads are the client's protobuf request bytes exactly as received (no re-encoding on
 * the hot path); lease payloads are protobuf requests; internal requests carry JSON. Every member decodes the same bytes when applying.
 */
export enum ProposalKind {
  Put = 1,
  DeleteRange = 2,
  Txn = 3,
  Compaction = 4,
  MemberAttributes = 5,
  ClusterVersion = 6,
  /** payload: protobuf LeaseGrantRequest (ID always set: the proposing member chose it when 0) */
  LeaseGrant = 7,
  /** payload: protobuf LeaseRevokeRequest (from a client, or the leader revoking an expired lease) */
  LeaseRevoke = 8,
}

export interface Proposal {
  readonly kind: ProposalKind;
  readonly id: bigint;
  readonly payload: Uint8Array;
}

const HEADER = 9;

export function encodeProposal(p: Proposal): Buffer {
  const out = Buffer.allocUnsafe(HEADER + p.payload.length);
  out[0] = p.kind;
  out.writeBigUInt64BE(p.id, 1);
  out.set(p.payload, HEADER);
  return out;
}

export function decodeProposal(data: Uint8Array): Proposal | undefined {
  if (data.length < HEADER) return undefined; // the leader's empty no-op entry
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { kind: b[0] as ProposalKind, id: b.readBigUInt64BE(1), payload: b.subarray(HEADER) };
}

export interface MemberAttributes {
  readonly memberId: string;
  readonly name: string;
  readonly clientUrls: readonly string[];
}

export const jsonPayload = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
export const fromJsonPayload = <T>(b: Uint8Array): T => JSON.parse(Buffer.from(b).toString("utf8")) as T;
