/**
 * Header blocks (RFC 7541) for the benchmark's gRPC client.
 *
 * Sending: every request of a method has the same headers, so its block is encoded once, with literal
 * fields "without indexing" (no dynamic table state on either side) and no Huffman coding.
 *
 * Receiving: the client announces SETTINGS_HEADER_TABLE_SIZE 0, so the server's encoder cannot use a dynamic
 * table and every block it sends decodes on its own. A server answers the same way every time (`:status 200`,
 * `grpc-status 0`), so a decoded block is kept under its bytes and decoding is a map lookup after the first
 * response. Decoding itself is hpack.js's (Huffman included), on a fresh table of size 0 per block: a block
 * that refers to a dynamic entry is a protocol error, reported as one.
 */
import hpack from "hpack.js";

/** RFC 7541 Appendix A: the static table entries a gRPC request uses (name index; value index for :method POST, :scheme http). */
const STATIC_NAME: Record<string, number> = { ":authority": 1, ":method": 2, ":path": 4, ":scheme": 6, "content-type": 31, "user-agent": 58 };
const STATIC_FIELD: Record<string, number> = { ":method POST": 3, ":scheme http": 6, ":scheme https": 7 };

/** RFC 7541 §5.1: an integer with an N-bit prefix; `first` holds the bits above the prefix. */
export function encodeInteger(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function encodeString(s: string): number[] {
  const b = Buffer.from(s, "latin1");
  return [...encodeInteger(b.length, 7, 0), ...b];
}

/** A header block of the given fields: fully indexed static entries where they exist, else literals without indexing. */
export function encodeHeaderBlock(fields: [string, string][]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const whole = STATIC_FIELD[`${name} ${value}`];
    if (whole !== undefined) {
      out.push(...encodeInteger(whole, 7, 0x80));
      continue;
    }
    const nameIndex = STATIC_NAME[name];
    if (nameIndex !== undefined) out.push(...encodeInteger(nameIndex, 4, 0x00));
    else out.push(0x00, ...encodeString(name));
    out.push(...encodeString(value));
  }
  return Buffer.from(out);
}

export class HpackError extends Error {}

export type HeaderFields = Readonly<Record<string, string>>;

const MEMO_LIMIT = 1024;

/** Decodes header blocks sent under a dynamic table size of 0; see the module comment. */
export class HeaderDecoder {
  private readonly memo = new Map<string, HeaderFields>();

  decode(block: Buffer): HeaderFields {
    const key = block.toString("latin1");
    const hit = this.memo.get(key);
    if (hit) return hit;
    const fields = decodeStateless(block);
    // Error answers can carry ever-different messages: past the limit, decode them every time.
    if (this.memo.size < MEMO_LIMIT) this.memo.set(key, fields);
    return fields;
  }
}

export function decodeStateless(block: Buffer): HeaderFields {
  const d = hpack.decompressor.create({ table: { maxSize: 0 } });
  const out: Record<string, string> = {};
  try {
    d.write(block);
    d.execute();
    for (let f = d.read(); f !== null; f = d.read()) out[f.name] = f.name in out ? `${out[f.name]},${f.value}` : f.value;
  } catch (e) {
    throw new HpackError(`malformed header block: ${(e as Error).message}`);
  }
  return Object.freeze(out);
}
