/**
 * Turns the bytes of a committed Normal raft entry into a typed request, or says why it cannot be
 * applied. Everything here is a pure function of the entry's bytes: every member reaches the same
 * verdict for the same entry, whatever its configuration (no --max-txn-ops, no clocks), so an entry
 * that is refused is refused everywhere and becomes the same no-op everywhere.
 *
 * The checks are those the API layer makes before proposing (apply/validate.ts) and the shape of
 * the internal (JSON) payloads: an entry proposed by an etcd-ts member always passes them, so only
 * a crafted, damaged or foreign entry is refused.
 */
import { serviceDefinition } from "../api/proto/load.js";
import { compactionFromWire, deleteRangeFromWire, putFromWire, toBigInt, txnFromWire } from "../pb/convert.js";
import { EtcdError } from "../pb/errors.js";
import type * as kv from "../pb/kv.js";
import type { WireCompactionRequest, WireDeleteRangeRequest, WirePutRequest, WireTxnRequest } from "../pb/wire.js";
import { validateDeleteRange, validatePut, validateTxn } from "./apply/index.js";
import { ProposalKind, decodeProposal } from "./proposal.js";

/**
 * Deeper nested txns are refused at apply, far below any stack limit. (protobufjs already refuses
 * messages nested past 100 levels, about 50 txns; this holds whatever the decoder does.)
 */
export const MAX_TXN_DEPTH = 128;

export type DecodedRequest =
  | { readonly kind: ProposalKind.Put; readonly req: kv.PutRequest }
  | { readonly kind: ProposalKind.DeleteRange; readonly req: kv.DeleteRangeRequest }
  | { readonly kind: ProposalKind.Txn; readonly req: kv.TxnRequest }
  | { readonly kind: ProposalKind.Compaction; readonly req: kv.CompactionRequest }
  | { readonly kind: ProposalKind.MemberAttributes; readonly memberId: bigint; readonly name: string; readonly clientUrls: readonly string[] }
  | { readonly kind: ProposalKind.ClusterVersion; readonly version: string }
  | { readonly kind: ProposalKind.LeaseGrant; readonly id: bigint; readonly ttl: number }
  | { readonly kind: ProposalKind.LeaseRevoke; readonly id: bigint };

export type DecodedEntry =
  /** The leader's empty entry of a new term. */
  | { readonly type: "noop" }
  | { readonly type: "request"; readonly id: bigint; readonly request: DecodedRequest }
  /** Cannot be applied. `err`: the etcd error a client would have got for it, when there is one. */
  | { readonly type: "invalid"; readonly id?: bigint; readonly reason: string; readonly err?: EtcdError };

const kvDef = serviceDefinition("etcdserverpb", "KV");
const leaseDef = serviceDefinition("etcdserverpb", "Lease");
const deserialize = (method: { requestDeserialize(b: Buffer): unknown } | undefined, b: Uint8Array): unknown =>
  method!.requestDeserialize(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

class Refused extends Error {
  constructor(
    message: string,
    readonly err?: EtcdError,
  ) {
    super(message);
  }
}

function txnDepth(t: kv.TxnRequest, depth = 1): number {
  if (depth > MAX_TXN_DEPTH) return depth;
  let max = depth;
  for (const op of [...t.success, ...t.failure]) if ("requestTxn" in op) max = Math.max(max, txnDepth(op.requestTxn, depth + 1));
  return max;
}

/** Runs an API-layer validator; its etcd error becomes the refusal's error. */
function validated<T>(req: T, check: (r: T) => void): T {
  try {
    check(req);
  } catch (e) {
    if (e instanceof EtcdError) throw new Refused(e.message, e);
    throw e;
  }
  return req;
}

function jsonObject(payload: Uint8Array): Record<string, unknown> {
  const o: unknown = JSON.parse(Buffer.from(payload).toString("utf8"));
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new Refused("payload is not a JSON object");
  return o as Record<string, unknown>;
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

function memberAttributes(payload: Uint8Array): DecodedRequest {
  const o = jsonObject(payload);
  if (typeof o.memberId !== "string" || !/^[0-9]{1,20}$/.test(o.memberId)) throw new Refused("member attributes without a decimal member ID");
  const memberId = BigInt(o.memberId);
  if (memberId === 0n || memberId >= 1n << 64n) throw new Refused("member attributes with a member ID out of range");
  if (typeof o.name !== "string" || !isStringArray(o.clientUrls)) throw new Refused("member attributes without a name and client URLs");
  return { kind: ProposalKind.MemberAttributes, memberId, name: o.name, clientUrls: o.clientUrls };
}

function clusterVersion(payload: Uint8Array): DecodedRequest {
  const o = jsonObject(payload);
  if (typeof o.version !== "string" || !/^[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}$/.test(o.version)) throw new Refused("cluster version is not MAJOR.MINOR.PATCH");
  return { kind: ProposalKind.ClusterVersion, version: o.version };
}

function request(kind: ProposalKind, payload: Uint8Array): DecodedRequest {
  switch (kind) {
    case ProposalKind.Put:
      return { kind, req: validated(putFromWire(deserialize(kvDef.Put, payload) as WirePutRequest), validatePut) };
    case ProposalKind.DeleteRange:
      return { kind, req: validated(deleteRangeFromWire(deserialize(kvDef.DeleteRange, payload) as WireDeleteRangeRequest), validateDeleteRange) };
    case ProposalKind.Txn: {
      const req = txnFromWire(deserialize(kvDef.Txn, payload) as WireTxnRequest);
      if (txnDepth(req) > MAX_TXN_DEPTH) throw new Refused(`txn nested deeper than ${MAX_TXN_DEPTH}`);
      // the op-count limit is each member's own --max-txn-ops: not a property of the entry
      return { kind, req: validated(req, (r) => validateTxn(r, Number.MAX_SAFE_INTEGER)) };
    }
    case ProposalKind.Compaction:
      return { kind, req: compactionFromWire(deserialize(kvDef.Compact, payload) as WireCompactionRequest) };
    case ProposalKind.MemberAttributes:
      return memberAttributes(payload);
    case ProposalKind.ClusterVersion:
      return clusterVersion(payload);
    case ProposalKind.LeaseGrant: {
      const r = deserialize(leaseDef.LeaseGrant, payload) as { ID?: string; TTL?: string };
      const ttl = Number(r.TTL ?? 0);
      if (!Number.isFinite(ttl)) throw new Refused("lease TTL is not a number");
      return { kind, id: toBigInt(r.ID), ttl };
    }
    case ProposalKind.LeaseRevoke: {
      const r = deserialize(leaseDef.LeaseRevoke, payload) as { ID?: string };
      return { kind, id: toBigInt(r.ID) };
    }
    default:
      throw new Refused(`unknown request kind ${String(kind)}`);
  }
}

/** Decodes and checks a Normal entry's data. Never throws. */
export function decodeNormalEntry(data: Uint8Array): DecodedEntry {
  if (data.length === 0) return { type: "noop" };
  const p = decodeProposal(data);
  if (!p) return { type: "invalid", reason: `entry of ${data.length} bytes is shorter than a request header` };
  try {
    return { type: "request", id: p.id, request: request(p.kind, p.payload) };
  } catch (e) {
    // a protobuf or JSON decoder may throw anything (RangeError, SyntaxError, a stack overflow)
    const err = e instanceof Refused ? e.err : undefined;
    return { type: "invalid", id: p.id, reason: e instanceof Error ? e.message : String(e), ...(err ? { err } : {}) };
  }
}
