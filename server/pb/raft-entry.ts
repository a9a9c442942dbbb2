/**
 * The raft-entry codec: what a Normal raft entry carries, `[kind: u8][request id: u64 BE][payload]`,
 * and the payload of each kind, bytes <-> typed request.
 *
 * KV payloads are the client's protobuf request bytes exactly as received (no re-encoding on the
 * hot path); lease and alarm payloads are protobuf requests; internal requests carry JSON. Every
 * member decodes the same bytes when applying, so decoding is a pure function of them: it never
 * throws, and refuses what is not well-formed with a reason (the apply-time checks of what IS
 * well-formed are the server's, `etcdserver/entry-decode.ts`).
 */
import { compactionFromWire, deleteRangeFromWire, putFromWire, toBigInt, txnFromWire } from "./convert.js";
import type * as kv from "./kv.js";
import { messageCodec } from "./proto.js";
import { decodeAuthPayload, type AuthRequest } from "./auth-entry.js";
import { ByteArena } from "../util/byte-arena.js";
import type { Int64, WireCompactionRequest, WireDeleteRangeRequest, WirePutRequest, WireTxnRequest } from "./wire.js";

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
  /** payload: protobuf AlarmRequest (etcd's InternalRaftRequest.Alarm: list, activate, deactivate) */
  Alarm = 9,
  /** payload: pb/auth-entry.ts (an auth store change, or an Authenticate) */
  Auth = 10,
  /** payload: protobuf LeaseCheckpointRequest (the leader's checkpoints of remaining TTLs) */
  LeaseCheckpoint = 11,
}

/**
 * Who a client request acts for and at which auth revision its permissions were checked (etcd's
 * RequestHeader username / auth_revision). The apply refuses the request if the auth state moved
 * since (the check no longer holds). Internal requests (lease expiry, auto compaction) carry none.
 */
export interface AuthStamp {
  readonly user: string;
  readonly revision: number;
}

export interface Proposal {
  readonly kind: ProposalKind;
  readonly id: bigint;
  readonly payload: Uint8Array;
  readonly stamp?: AuthStamp;
}

const HEADER = 9;
/** Set in the kind byte when an auth stamp follows the header: `[revision: u64 BE][name length: u16 BE][name]`. */
const STAMPED = 0x80;
const MAX_STAMP_NAME = 0xffff;

/** Entry data stays in the raft log until a snapshot compacts it: packed apart from short-lived Buffers (util/byte-arena.ts). */
const entryBytes = new ByteArena();

export function encodeProposal(p: Proposal): Buffer {
  // Every client write is stamped (auth off: the empty user at revision 0), so this runs once per
  // put: written byte by byte, without Buffer's checked writers or a BigInt per field.
  const user = p.stamp?.user;
  const nameLen = user ? Math.min(Buffer.byteLength(user, "utf8"), MAX_STAMP_NAME) : 0;
  const stampBytes = p.stamp ? 10 + nameLen : 0;
  const bytes = entryBytes.alloc(HEADER + stampBytes + p.payload.length);
  const out = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  out[0] = p.kind | (p.stamp ? STAMPED : 0);
  putU64(out, 1, p.id);
  if (p.stamp) {
    const rev = p.stamp.revision;
    putU32(out, HEADER, Math.floor(rev / 0x1_0000_0000));
    putU32(out, HEADER + 4, rev >>> 0);
    out[HEADER + 8] = nameLen >>> 8;
    out[HEADER + 9] = nameLen & 0xff;
    if (nameLen > 0) out.set(Buffer.from(user!, "utf8").subarray(0, nameLen), HEADER + 10);
  }
  out.set(p.payload, HEADER + stampBytes);
  return out;
}

function putU32(b: Buffer, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

function putU64(b: Buffer, off: number, v: bigint): void {
  const hi = Number((v >> 32n) & 0xffffffffn);
  const lo = Number(v & 0xffffffffn);
  putU32(b, off, hi);
  putU32(b, off + 4, lo);
}

/** The request id of an entry's proposal, without decoding the rest (undefined: the leader's empty no-op entry). */
export function proposalId(data: Uint8Array): bigint | undefined {
  if (data.length < HEADER) return undefined;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).readBigUInt64BE(1);
}

export function decodeProposal(data: Uint8Array): Proposal | undefined {
  if (data.length < HEADER) return undefined; // the leader's empty no-op entry
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const kind = (b[0]! & ~STAMPED) as ProposalKind;
  const id = b.readBigUInt64BE(1);
  if ((b[0]! & STAMPED) === 0) return { kind, id, payload: b.subarray(HEADER) };
  if (b.length < HEADER + 10) throw new MalformedPayload("auth stamp cut short");
  const len = b.readUInt16BE(HEADER + 8);
  if (b.length < HEADER + 10 + len) throw new MalformedPayload("auth stamp name cut short");
  const stamp = { revision: Number(b.readBigUInt64BE(HEADER)), user: b.subarray(HEADER + 10, HEADER + 10 + len).toString("utf8") };
  return { kind, id, payload: b.subarray(HEADER + 10 + len), stamp };
}

export interface MemberAttributes {
  readonly memberId: string;
  readonly name: string;
  readonly clientUrls: readonly string[];
}

export const jsonPayload = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
export const fromJsonPayload = <T>(b: Uint8Array): T => JSON.parse(Buffer.from(b).toString("utf8")) as T;

export interface WireLeaseGrantRequest {
  TTL: Int64;
  ID: Int64;
}
export interface WireLeaseRevokeRequest {
  ID: Int64;
}
export interface WireAlarmRequest {
  action: number;
  memberID: Int64;
  alarm: number;
}

/** etcd's AlarmRequest.AlarmAction. */
export enum AlarmAction {
  Get = 0,
  Activate = 1,
  Deactivate = 2,
}

/** The protobuf payloads, by kind (the same codecs the gRPC methods of these types use). */
export const payloads = {
  put: messageCodec<WirePutRequest>("etcdserverpb.PutRequest"),
  deleteRange: messageCodec<WireDeleteRangeRequest>("etcdserverpb.DeleteRangeRequest"),
  txn: messageCodec<WireTxnRequest>("etcdserverpb.TxnRequest"),
  compaction: messageCodec<WireCompactionRequest>("etcdserverpb.CompactionRequest"),
  leaseGrant: messageCodec<WireLeaseGrantRequest>("etcdserverpb.LeaseGrantRequest"),
  leaseRevoke: messageCodec<WireLeaseRevokeRequest>("etcdserverpb.LeaseRevokeRequest"),
  alarm: messageCodec<WireAlarmRequest>("etcdserverpb.AlarmRequest"),
  leaseCheckpoint: messageCodec<WireLeaseCheckpointRequest>("etcdserverpb.LeaseCheckpointRequest"),
};

export interface WireLeaseCheckpointRequest {
  checkpoints?: Array<{ ID?: Int64; remaining_TTL?: Int64 }>;
}

export type EntryRequest =
  | { readonly kind: ProposalKind.Put; readonly req: kv.PutRequest }
  | { readonly kind: ProposalKind.DeleteRange; readonly req: kv.DeleteRangeRequest }
  | { readonly kind: ProposalKind.Txn; readonly req: kv.TxnRequest }
  | { readonly kind: ProposalKind.Compaction; readonly req: kv.CompactionRequest }
  | { readonly kind: ProposalKind.MemberAttributes; readonly memberId: bigint; readonly name: string; readonly clientUrls: readonly string[] }
  | { readonly kind: ProposalKind.ClusterVersion; readonly version: string }
  | { readonly kind: ProposalKind.LeaseGrant; readonly id: bigint; readonly ttl: number }
  | { readonly kind: ProposalKind.LeaseRevoke; readonly id: bigint }
  | { readonly kind: ProposalKind.Alarm; readonly action: number; readonly memberId: bigint; readonly alarm: number }
  | { readonly kind: ProposalKind.Auth; readonly auth: AuthRequest }
  | { readonly kind: ProposalKind.LeaseCheckpoint; readonly checkpoints: ReadonlyArray<{ readonly id: bigint; readonly remainingTtl: number }> };

export type DecodedEntry =
  /** The leader's empty entry of a new term. */
  | { readonly type: "noop" }
  | { readonly type: "request"; readonly id: bigint; readonly request: EntryRequest; readonly stamp?: AuthStamp }
  /** Not a well-formed entry of any kind: `id` when its header could be read. */
  | { readonly type: "invalid"; readonly id?: bigint; readonly reason: string };

/** A payload that is not what its kind says. */
export class MalformedPayload extends Error {}

function jsonObject(payload: Uint8Array): Record<string, unknown> {
  const o: unknown = JSON.parse(Buffer.from(payload).toString("utf8"));
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new MalformedPayload("payload is not a JSON object");
  return o as Record<string, unknown>;
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

function memberAttributes(payload: Uint8Array): EntryRequest {
  const o = jsonObject(payload);
  if (typeof o.memberId !== "string" || !/^[0-9]{1,20}$/.test(o.memberId)) throw new MalformedPayload("member attributes without a decimal member ID");
  const memberId = BigInt(o.memberId);
  if (memberId === 0n || memberId >= 1n << 64n) throw new MalformedPayload("member attributes with a member ID out of range");
  if (typeof o.name !== "string" || !isStringArray(o.clientUrls)) throw new MalformedPayload("member attributes without a name and client URLs");
  return { kind: ProposalKind.MemberAttributes, memberId, name: o.name, clientUrls: o.clientUrls };
}

function clusterVersion(payload: Uint8Array): EntryRequest {
  const o = jsonObject(payload);
  if (typeof o.version !== "string" || !/^[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}$/.test(o.version)) throw new MalformedPayload("cluster version is not MAJOR.MINOR.PATCH");
  return { kind: ProposalKind.ClusterVersion, version: o.version };
}

function request(kind: ProposalKind, payload: Uint8Array): EntryRequest {
  switch (kind) {
    case ProposalKind.Put:
      return { kind, req: putFromWire(payloads.put.decode(payload)) };
    case ProposalKind.DeleteRange:
      return { kind, req: deleteRangeFromWire(payloads.deleteRange.decode(payload)) };
    case ProposalKind.Txn:
      return { kind, req: txnFromWire(payloads.txn.decode(payload)) };
    case ProposalKind.Compaction:
      return { kind, req: compactionFromWire(payloads.compaction.decode(payload)) };
    case ProposalKind.MemberAttributes:
      return memberAttributes(payload);
    case ProposalKind.ClusterVersion:
      return clusterVersion(payload);
    case ProposalKind.LeaseGrant: {
      const r = payloads.leaseGrant.decode(payload);
      const ttl = Number(r.TTL ?? 0);
      if (!Number.isFinite(ttl)) throw new MalformedPayload("lease TTL is not a number");
      return { kind, id: toBigInt(r.ID), ttl };
    }
    case ProposalKind.LeaseRevoke:
      return { kind, id: toBigInt(payloads.leaseRevoke.decode(payload).ID) };
    case ProposalKind.Alarm: {
      const r = payloads.alarm.decode(payload);
      return { kind, action: r.action, memberId: toBigInt(r.memberID), alarm: r.alarm };
    }
    case ProposalKind.Auth:
      return { kind, auth: decodeAuthPayload(payload) };
    case ProposalKind.LeaseCheckpoint: {
      const cps = (payloads.leaseCheckpoint.decode(payload).checkpoints ?? []).map((c) => ({ id: toBigInt(c.ID), remainingTtl: Number(c.remaining_TTL ?? 0) }));
      if (cps.some((c) => !Number.isSafeInteger(c.remainingTtl))) throw new MalformedPayload("lease checkpoint TTL is not a number");
      return { kind, checkpoints: cps };
    }
    default:
      throw new MalformedPayload(`unknown request kind ${String(kind)}`);
  }
}

/** Decodes a Normal entry's data. Never throws. */
export function decodeEntry(data: Uint8Array): DecodedEntry {
  if (data.length === 0) return { type: "noop" };
  let p: Proposal | undefined;
  try {
    p = decodeProposal(data);
  } catch (e) {
    return { type: "invalid", reason: e instanceof Error ? e.message : String(e) };
  }
  if (!p) return { type: "invalid", reason: `entry of ${data.length} bytes is shorter than a request header` };
  try {
    const req = request(p.kind, p.payload);
    return p.stamp ? { type: "request", id: p.id, request: req, stamp: p.stamp } : { type: "request", id: p.id, request: req };
  } catch (e) {
    // a protobuf or JSON decoder may throw anything (RangeError, SyntaxError, a stack overflow)
    return { type: "invalid", id: p.id, reason: e instanceof Error ? e.message : String(e) };
  }
}
