/**
 * etcd's `leasepb.Lease` record (lease bucket values) and the bucket key (the lease ID as 8 bytes,
 * big-endian two's complement, as etcd's int64ToBytes). Hand-written protobuf: three int64
 * varint fields (ID = 1, TTL = 2, RemainingTTL = 3), zero values omitted, as gogo-protobuf marshals.
 */

export interface LeaseRecord {
  readonly id: bigint;
  readonly ttl: number;
  readonly remainingTtl: number;
}

const U64 = (1n << 64n) - 1n;

export function leaseKey(id: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, id));
  return b;
}

export function leaseIdOfKey(k: Buffer): bigint {
  if (k.length !== 8) throw new Error("lease ID must be 8-byte");
  return BigInt.asIntN(64, k.readBigUInt64BE(0));
}

function putVarint(out: number[], v: bigint): void {
  let x = v & U64;
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
}

export function encodeLease(r: LeaseRecord): Buffer {
  const out: number[] = [];
  const field = (tag: number, v: bigint) => {
    if (v === 0n) return;
    out.push(tag);
    putVarint(out, v);
  };
  field(0x08, r.id);
  field(0x10, BigInt(r.ttl));
  field(0x18, BigInt(r.remainingTtl));
  return Buffer.from(out);
}

export function decodeLease(b: Buffer): LeaseRecord {
  let id = 0n;
  let ttl = 0n;
  let remaining = 0n;
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= b.length) throw new Error("leasepb: truncated varint");
      const byte = b[i++]!;
      v |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asIntN(64, v);
      shift += 7n;
      if (shift > 63n) throw new Error("leasepb: varint too long");
    }
  };
  while (i < b.length) {
    const tag = Number(varint());
    const fieldNo = tag >>> 3;
    const wire = tag & 7;
    if (wire !== 0) throw new Error(`leasepb: unexpected wire type ${wire} for field ${fieldNo}`);
    const v = varint();
    if (fieldNo === 1) id = v;
    else if (fieldNo === 2) ttl = v;
    else if (fieldNo === 3) remaining = v;
  }
  return { id, ttl: Number(ttl), remainingTtl: Number(remaining) };
}
