/**
 * PutResponse bytes without protobufjs for the common answer (a header, no prev_kv).
 *
 * proto-loader's serializer runs `fromObject` (two decimal uint64 strings parsed into Longs) and a
 * Writer that allocates an operation per field: ~7 µs and a dozen objects per put. The header's
 * cluster and member IDs do not change, so their bytes are kept; revision and raft term are written
 * as varints. The output is byte for byte what the Put method's own serializer makes of the same
 * object (protobufjs writes fields in field-number order, zero values included:
 * test/api/put-response.test.ts). Anything else (prev_kv, an unexpected shape) goes to that
 * serializer.
 */
import { messageCodec } from "./proto.js";
import { int64Len, uint64Len, writeInt64, writeUint64 } from "./varint.js";
import type { WireHeader } from "./wire.js";

const putResponse = messageCodec<unknown>("etcdserverpb.PutResponse");

const UINT64_MAX = (1n << 64n) - 1n;
const DECIMAL = /^[0-9]{1,20}$/;

let idsKeyCluster = "";
let idsKeyMember = "";
/** Fields 1 and 2 of a ResponseHeader (cluster_id, member_id), tags included; undefined: not cached. */
let idsBytes: Buffer | undefined;

function idFieldsOf(clusterId: string, memberId: string): Buffer | undefined {
  if (idsBytes !== undefined && clusterId === idsKeyCluster && memberId === idsKeyMember) return idsBytes;
  if (!DECIMAL.test(clusterId) || !DECIMAL.test(memberId)) return undefined;
  const c = BigInt(clusterId);
  const m = BigInt(memberId);
  if (c > UINT64_MAX || m > UINT64_MAX) return undefined;
  const out = Buffer.alloc(2 + uint64Len(c) + uint64Len(m));
  out[0] = 0x08;
  let p = writeUint64(out, 1, c);
  out[p++] = 0x10;
  writeUint64(out, p, m);
  idsKeyCluster = clusterId;
  idsKeyMember = memberId;
  idsBytes = out;
  return out;
}

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;

/** What the generic serializer would make of `{ header }` alone, or undefined when it is not that shape. */
function fastPut(value: unknown): Buffer | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const v = value as { header?: WireHeader; prev_kv?: unknown };
  if (v.prev_kv !== undefined && v.prev_kv !== null) return undefined;
  const h = v.header;
  if (h === null || typeof h !== "object" || typeof h.cluster_id !== "string" || typeof h.member_id !== "string") return undefined;
  if (!isCount(h.revision) || !isCount(h.raft_term)) return undefined;
  const ids = idFieldsOf(h.cluster_id, h.member_id);
  if (!ids) return undefined;
  const bodyLen = ids.length + 1 + int64Len(h.revision) + 1 + int64Len(h.raft_term);
  if (bodyLen >= 0x80) return undefined; // always below: ids are at most 22 bytes
  const out = Buffer.allocUnsafe(2 + bodyLen);
  out[0] = 0x0a;
  out[1] = bodyLen;
  let p = 2 + ids.copy(out, 2);
  out[p++] = 0x18;
  p = writeInt64(out, p, h.revision);
  out[p++] = 0x20;
  writeInt64(out, p, h.raft_term);
  return out;
}

/** The Put method's responseSerialize: the fast path, else proto-loader's serializer. */
export function serializePutResponse(value: unknown): Buffer {
  return fastPut(value) ?? putResponse.encode(value);
}
