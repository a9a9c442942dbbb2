/**
 * HPACK (RFC 7541) for the server's side of a connection: decoding request header blocks with the client's dynamic
 * table, and the few fields a gRPC response carries, encoded as literals that never touch a table.
 *
 * Hand-written rather than hpack.js: the decoder must bound what a client can make it hold (the table's size stays
 * at most what the server advertised, a header list at most maxListBytes, and a bad block is an error value, never a
 * half-updated state that is used again), and the part needed is small (integers, strings, a names-and-values table,
 * the Huffman decoder). It is checked against RFC 7541 Appendix C in test/grpcwire/hpack.test.ts and against real
 * clients (clientv3, grpc-js, etcdctl) by every test that reaches a member.
 */

export class HpackError extends Error {}

// ---- RFC 7541 Appendix A: the static table

const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [":authority", ""], [":method", "GET"], [":method", "POST"], [":path", "/"], [":path", "/index.html"],
  [":scheme", "http"], [":scheme", "https"], [":status", "200"], [":status", "204"], [":status", "206"],
  [":status", "304"], [":status", "400"], [":status", "404"], [":status", "500"], ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"], ["accept-language", ""], ["accept-ranges", ""], ["accept", ""],
  ["access-control-allow-origin", ""], ["age", ""], ["allow", ""], ["authorization", ""], ["cache-control", ""],
  ["content-disposition", ""], ["content-encoding", ""], ["content-language", ""], ["content-length", ""],
  ["content-location", ""], ["content-range", ""], ["content-type", ""], ["cookie", ""], ["date", ""], ["etag", ""],
  ["expect", ""], ["expires", ""], ["from", ""], ["host", ""], ["if-match", ""], ["if-modified-since", ""],
  ["if-none-match", ""], ["if-range", ""], ["if-unmodified-since", ""], ["last-modified", ""], ["link", ""],
  ["location", ""], ["max-forwards", ""], ["proxy-authenticate", ""], ["proxy-authorization", ""], ["range", ""],
  ["referer", ""], ["refresh", ""], ["retry-after", ""], ["server", ""], ["set-cookie", ""],
  ["strict-transport-security", ""], ["transfer-encoding", ""], ["user-agent", ""], ["vary", ""], ["via", ""],
  ["www-authenticate", ""],
];
/** The static table as the dynamic table's entries look (name and value as latin1 strings). */
const STATIC_ENTRIES: ReadonlyArray<{ readonly name: string; readonly value: string }> = STATIC_TABLE.map(([name, value]) => ({ name, value }));
export const STATIC_TABLE_LENGTH = STATIC_TABLE.length; // 61

// ---- RFC 7541 Appendix B: the Huffman code

/**
 * Code lengths in bits of symbols 0..255, then EOS (256). The code is canonical (codes of one length are consecutive,
 * in symbol order, shorter lengths first), so the lengths define it; the tests check codes the RFC lists.
 */
const HUFFMAN_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
const EOS = 256;

/** Each symbol's code, MSB-aligned in its length: [code, length]. */
export const HUFFMAN_CODES: ReadonlyArray<readonly [number, number]> = (() => {
  const order = HUFFMAN_LENGTHS.map((len, sym) => ({ len, sym })).sort((a, b) => a.len - b.len || a.sym - b.sym);
  const codes: [number, number][] = new Array(HUFFMAN_LENGTHS.length);
  let code = 0;
  let len = order[0]!.len;
  for (const e of order) {
    code *= 2 ** (e.len - len); // codes reach 30 bits: stay out of 32-bit shifts
    len = e.len;
    codes[e.sym] = [code, len];
    code += 1;
  }
  return codes;
})();

/** The code as a binary tree, node i's children at [2i] (bit 0) and [2i+1] (bit 1): > 0 a node, < 0 the leaf of symbol -1 - value. */
const HUFFMAN_TREE: Int32Array = (() => {
  const tree = new Int32Array(2 * 512);
  let nodes = 1; // node 0 is the root
  HUFFMAN_CODES.forEach(([code, len], sym) => {
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const slot = 2 * node + (Math.floor(code / 2 ** i) & 1);
      if (i === 0) tree[slot] = -1 - sym;
      else {
        if (tree[slot] === 0) tree[slot] = nodes++;
        node = tree[slot]!;
      }
    }
  });
  return tree;
})();

/** Decodes a Huffman-coded string (§5.2): padding must be at most 7 bits, all ones (a prefix of EOS). */
export function huffmanDecode(src: Buffer): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil((src.length * 8) / 5)); // the shortest code is 5 bits
  let n = 0;
  let node = 0;
  let depth = 0; // bits since the last symbol
  let ones = true; // and all of them 1s
  for (let i = 0; i < src.length; i++) {
    const byte = src[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      const next = HUFFMAN_TREE[2 * node + b]!;
      if (next > 0) {
        node = next;
        depth++;
        ones &&= b === 1;
        continue;
      }
      const sym = -1 - next;
      if (sym === EOS) throw new HpackError("EOS in a Huffman-coded string");
      out[n++] = sym;
      node = 0;
      depth = 0;
      ones = true;
    }
  }
  if (depth > 7 || !ones) throw new HpackError("bad Huffman padding");
  return out.subarray(0, n);
}

/** Encodes with the Huffman code (for the tests' hand-built blocks; responses are written as raw strings). */
export function huffmanEncode(src: Buffer): Buffer {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of src) {
    const [code, len] = HUFFMAN_CODES[byte]!;
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** i) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push(((acc << (8 - bits)) | (0xff >> bits)) & 0xff);
  return Buffer.from(out);
}

// ---- §5: primitives

/** An integer with an N-bit prefix (§5.1) at buf[off]: its value and the offset after it. */
export function decodeInteger(buf: Buffer, off: number, prefixBits: number): { value: number; next: number } {
  if (off >= buf.length) throw new HpackError("truncated integer");
  const max = (1 << prefixBits) - 1;
  let value = buf[off]! & max;
  off++;
  if (value < max) return { value, next: off };
  let shift = 0;
  for (;;) {
    if (off >= buf.length) throw new HpackError("truncated integer");
    const b = buf[off++]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) break;
    if (shift > 28) throw new HpackError("integer too large");
  }
  return { value, next: off };
}

export function encodeInteger(value: number, prefixBits: number, firstByteHighBits: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteHighBits | value]);
  const bytes = [firstByteHighBits | max];
  let rest = value - max;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A string literal (§5.2) at buf[off], decoded. */
export function decodeString(buf: Buffer, off: number): { value: Buffer; next: number } {
  if (off >= buf.length) throw new HpackError("truncated string");
  const huffman = (buf[off]! & 0x80) !== 0;
  const { value: length, next } = decodeInteger(buf, off, 7);
  const end = next + length;
  if (end > buf.length) throw new HpackError("truncated string");
  const raw = buf.subarray(next, end);
  return { value: huffman ? huffmanDecode(raw) : raw, next: end };
}

/** A raw (not Huffman-coded) string literal. */
export function encodeString(value: Buffer, huffman = false): Buffer {
  const bytes = huffman ? huffmanEncode(value) : value;
  return Buffer.concat([encodeInteger(bytes.length, 7, huffman ? 0x80 : 0), bytes]);
}

// ---- §2.3: the dynamic table, as the decoder (the server) keeps it

const ENTRY_OVERHEAD = 32;
/** SETTINGS_HEADER_TABLE_SIZE's initial value: the table's maximum until the encoder sends a size update. */
export const DEFAULT_TABLE_SIZE = 4096;

export class HpackTable {
  /**
   * Oldest first: HPACK index 62 is the last element. Values are kept as the latin1 strings a header list is made of,
   * so a field sent by index (most of a gRPC client's fields, request after request) costs no conversion.
   */
  private readonly entries: { name: string; value: string; size: number }[] = [];
  private size = 0;
  private maxSize: number;

  /** limit: the SETTINGS_HEADER_TABLE_SIZE this side advertised; the encoder may never ask for more (§4.2). */
  constructor(private readonly limit = DEFAULT_TABLE_SIZE) {
    this.maxSize = limit;
  }

  /** The name and value at an HPACK index (§2.3.3): 1..61 static, 62.. dynamic, newest first. */
  get(index: number): { readonly name: string; readonly value: string } {
    if (index >= 1 && index <= STATIC_TABLE_LENGTH) return STATIC_ENTRIES[index - 1]!;
    const e = index > STATIC_TABLE_LENGTH ? this.entries[this.entries.length - 1 - (index - STATIC_TABLE_LENGTH - 1)] : undefined;
    if (!e) throw new HpackError(`index ${index} out of range`);
    return e;
  }

  /** §4.4: evict until the new entry fits; one larger than the whole table empties it and is not added. */
  add(name: string, value: string): void {
    // latin1 strings: one character per byte, so their lengths are §4.1's octet counts
    const size = ENTRY_OVERHEAD + name.length + value.length;
    this.evictTo(this.maxSize - size);
    if (size > this.maxSize) return;
    this.entries.push({ name, value, size });
    this.size += size;
  }

  /** A dynamic table size update (§6.3): larger than the advertised limit is a decoding error (§4.2). */
  resize(maxSize: number): void {
    if (maxSize > this.limit) throw new HpackError(`table size update ${maxSize} over the limit ${this.limit}`);
    this.maxSize = maxSize;
    this.evictTo(maxSize);
  }

  /** For tests: the entries, newest first, as [name, value] strings. */
  dump(): [string, string][] {
    return this.entries.map((e) => [e.name, e.value] as [string, string]).reverse();
  }

  get octets(): number {
    return this.size;
  }

  private evictTo(limit: number): void {
    let drop = 0;
    while (this.size > Math.max(0, limit) && drop < this.entries.length) this.size -= this.entries[drop++]!.size;
    if (drop > 0) this.entries.splice(0, drop);
  }
}

// ---- §6: decoding a header block

/**
 * Calls visit for every field of the block in order, keeping table as the decoder must (§6). A block that does not
 * decode throws HpackError; the connection must then end (COMPRESSION_ERROR), as its table can't be trusted.
 */
function walk(block: Buffer, table: HpackTable, visit: (name: string, value: string) => void): void {
  let off = 0;
  let fields = 0;
  while (off < block.length) {
    const b = block[off]!;
    if (b & 0x80) {
      // §6.1 indexed field: 1xxxxxxx
      const { value: index, next } = decodeInteger(block, off, 7);
      if (index === 0) throw new HpackError("index 0");
      const e = table.get(index);
      visit(e.name, e.value);
      off = next;
      fields++;
    } else if ((b & 0xe0) === 0x20) {
      // §6.3 dynamic table size update: 001xxxxx, only at the start of a block (§4.2)
      if (fields > 0) throw new HpackError("table size update after a field");
      const { value, next } = decodeInteger(block, off, 5);
      table.resize(value);
      off = next;
    } else {
      // §6.2 literals: with incremental indexing 01xxxxxx, without indexing 0000xxxx, never indexed 0001xxxx
      const indexing = (b & 0x40) !== 0;
      const { value: nameIndex, next } = decodeInteger(block, off, indexing ? 6 : 4);
      let name: string;
      off = next;
      if (nameIndex === 0) {
        const s = decodeString(block, off);
        name = s.value.toString("latin1");
        off = s.next;
      } else name = table.get(nameIndex).name;
      const v = decodeString(block, off);
      off = v.next;
      const value = v.value.toString("latin1");
      visit(name, value);
      if (indexing) table.add(name, value);
      fields++;
    }
  }
}

/** The header list of a block (names and values as latin1 strings), in order, updating table. */
export function decodeHeaderBlock(block: Buffer, table: HpackTable): [string, string][] {
  return decodeHeaderList(block, table, Number.POSITIVE_INFINITY)!;
}

/**
 * decodeHeaderBlock with a bound: undefined when the list is larger than maxListBytes (§4.1 sizes: name + value + 32
 * per field). The block is walked to its end either way, so the table stays in step with the client's, but nothing
 * more is added to the list once the limit is passed (what a block's literals hold is bounded by the block's size).
 */
export function decodeHeaderList(block: Buffer, table: HpackTable, maxListBytes: number): [string, string][] | undefined {
  const out: [string, string][] = [];
  let size = 0;
  walk(block, table, (name, value) => {
    size += name.length + value.length + ENTRY_OVERHEAD;
    if (size <= maxListBytes) out.push([name, value]);
  });
  return size <= maxListBytes ? out : undefined;
}

// ---- the response side: literal fields without indexing (§6.2.2), so the client's decoder table never changes

/** A field as a literal without indexing: its name by static index when it has one, its value as a raw string. */
export function encodeLiteral(name: string, value: string): Buffer {
  const index = STATIC_NAME_INDEX.get(name);
  const v = encodeString(Buffer.from(value, "latin1"));
  if (index !== undefined) return Buffer.concat([encodeInteger(index, 4, 0x00), v]);
  return Buffer.concat([Buffer.from([0x00]), encodeString(Buffer.from(name, "latin1")), v]);
}

/** A header block of the given fields; `:status 200` is the static table's entry 8, as one byte. */
export function encodeFields(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.concat(fields.map(([n, v]) => (n === ":status" && v === "200" ? Buffer.from([0x88]) : encodeLiteral(n, v))));
}

const STATIC_NAME_INDEX: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  STATIC_TABLE.forEach(([n], i) => {
    if (!m.has(n)) m.set(n, i + 1);
  });
  return m;
})();
