/**
 * mvccpb.KeyValue in protobuf wire format, exactly as etcd (gogo-protobuf Marshal) writes it:
 * fields in number order, zero values omitted. Stored rows are therefore byte-identical to
 * etcd's, which makes HashKV comparable with a real etcd.
 *
 *   1 key bytes | 2 create_revision int64 | 3 mod_revision int64 | 4 version int64
 *   5 value bytes | 6 lease int64
 */
import type { KeyValue } from "../pb/kv.js";

const TWO32 = 0x1_0000_0000;
const U64 = (1n << 64n) - 1n;

function varintSize(n: number): number {
  // non-negative safe integer
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function int64Size(n: number): number {
  return n < 0 ? 10 : varintSize(n);
}

function bigVarintSize(n: bigint): number {
  let v = n & U64;
  let size = 1;
  while (v >= 128n) {
    v >>= 7n;
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  if (n < 0) return writeBigVarint(buf, pos, BigInt(n));
  while (n >= 128) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = n < TWO32 ? n >>> 7 : Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

function writeBigVarint(buf: Buffer, pos: number, n: bigint): number {
  let v = n & U64;
  while (v >= 128n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}

/** Encode a KeyValue. */
export function encodeKeyValue(kv: KeyValue): Buffer {
  const klen = kv.key.length;
  const vlen = kv.value.length;
  let size = 0;
  if (klen > 0) size += 1 + varintSize(klen) + klen;
  if (kv.createRevision !== 0) size += 1 + int64Size(kv.createRevision);
  if (kv.modRevision !== 0) size += 1 + int64Size(kv.modRevision);
  if (kv.version !== 0) size += 1 + int64Size(kv.version);
  if (vlen > 0) size += 1 + varintSize(vlen) + vlen;
  if (kv.lease !== 0n) size += 1 + bigVarintSize(kv.lease);
  const buf = Buffer.allocUnsafe(size);
  let p = 0;
  if (klen > 0) {
    buf[p++] = 0x0a;
    p = writeVarint(buf, p, klen);
    kv.key.copy(buf, p);
    p += klen;
  }
  if (kv.createRevision !== 0) {
    buf[p++] = 0x10;
    p = writeVarint(buf, p, kv.createRevision);
  }
  if (kv.modRevision !== 0) {
    buf[p++] = 0x18;
    p = writeVarint(buf, p, kv.modRevision);
  }
  if (kv.version !== 0) {
    buf[p++] = 0x20;
    p = writeVarint(buf, p, kv.version);
  }
  if (vlen > 0) {
    buf[p++] = 0x2a;
    p = writeVarint(buf, p, vlen);
    kv.value.copy(buf, p);
    p += vlen;
  }
  if (kv.lease !== 0n) {
    buf[p++] = 0x30;
    p = writeBigVarint(buf, p, kv.lease);
  }
  return buf;
}

/** The tombstone row's value: KeyValue{key} only. */
export function encodeTombstone(key: Buffer): Buffer {
  return encodeKeyValue({ key, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n });
}

const EMPTY = Buffer.alloc(0);

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  /** int64 varint as a number (exact for safe integers and for small negatives via bigint). */
  varint(): number {
    const b = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const byte = b[this.pos++];
      if (byte === undefined) throw new Error("kv-codec: truncated varint");
      if (i >= 7) {
        // beyond 49 bits: redo exactly with bigint (negative int64s, huge values)
        this.pos -= i + 1;
        return Number(BigInt.asIntN(64, this.bigVarint()));
      }
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) return result;
      mul *= 128;
    }
    throw new Error("kv-codec: varint too long");
  }
  bigVarint(): bigint {
    const b = this.buf;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = b[this.pos++];
      if (byte === undefined) throw new Error("kv-codec: truncated varint");
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result & U64;
      shift += 7n;
    }
    throw new Error("kv-codec: varint too long");
  }
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.bigVarint();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2:
        this.pos += this.varint();
        return;
      case 5:
        this.pos += 4;
        return;
      default:
        throw new Error(`kv-codec: unsupported wire type ${wireType}`);
    }
  }
}

/**
 * Decode a stored KeyValue. `key` and `value` are views into `buf`: pass a buffer you own
 * (not a reused lmdb buffer).
 */
export function decodeKeyValue(buf: Buffer): KeyValue {
  const r = new Reader(buf);
  let key: Buffer = EMPTY;
  let value: Buffer = EMPTY;
  let createRevision = 0;
  let modRevision = 0;
  let version = 0;
  let lease = 0n;
  while (r.pos < buf.length) {
    const tag = buf[r.pos++]!;
    if (tag >= 0x80) throw new Error("kv-codec: unexpected multi-byte tag");
    switch (tag) {
      case 0x0a: {
        const n = r.varint();
        key = buf.subarray(r.pos, r.pos + n);
        r.pos += n;
        break;
      }
      case 0x10:
        createRevision = r.varint();
        break;
      case 0x18:
        modRevision = r.varint();
        break;
      case 0x20:
        version = r.varint();
        break;
      case 0x2a: {
        const n = r.varint();
        value = buf.subarray(r.pos, r.pos + n);
        r.pos += n;
        break;
      }
      case 0x30:
        lease = BigInt.asIntN(64, r.bigVarint());
        break;
      default:
        r.skip(tag & 7);
    }
  }
  if (r.pos !== buf.length) throw new Error("kv-codec: truncated KeyValue");
  return { key, createRevision, modRevision, version, value, lease };
}
