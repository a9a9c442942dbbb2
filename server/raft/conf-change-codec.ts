/**
 * The binary form of a ConfChange, as stored in ConfChange log entries. Pure DataView code.
 *
 * Layout (big endian): u8 version (=1) | u8 type | u64 nodeId | u32 context length | context.
 */
import { type ConfChange, ConfChangeType, RaftError } from "./types.js";

const VERSION = 1;
const HEADER = 1 + 1 + 8 + 4;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(HEADER + cc.context.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, VERSION);
  dv.setUint8(1, cc.type);
  dv.setBigUint64(2, BigInt.asUintN(64, cc.nodeId));
  dv.setUint32(10, cc.context.byteLength);
  out.set(cc.context, HEADER);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.byteLength < HEADER) throw new RaftError(`conf change: truncated (${data.byteLength} bytes)`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = dv.getUint8(0);
  if (version !== VERSION) throw new RaftError(`conf change: unknown version ${version}`);
  const type = dv.getUint8(1);
  if (type > ConfChangeType.AddLearnerNode) throw new RaftError(`conf change: unknown type ${type}`);
  const nodeId = dv.getBigUint64(2);
  const len = dv.getUint32(10);
  if (HEADER + len !== data.byteLength) throw new RaftError("conf change: bad context length");
  // Copy so the ConfChange does not pin (or alias) the entry's buffer.
  const context = data.slice(HEADER, HEADER + len);
  return { type: type as ConfChangeType, nodeId, context };
}
