/** Protobuf varints as protobufjs writes them, for the hand-made encoders of hot responses (watch-response.ts, put-response.ts). */

/** Bytes of an int64 / uint64 field value given as a safe integer (negative: 10-byte two's complement). */
export function int64Len(n: number): number {
  if (n < 0) return 10;
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

export function writeInt64(buf: Buffer, pos: number, n: number): number {
  if (n < 0) {
    let v = BigInt.asUintN(64, BigInt(n));
    for (let i = 0; i < 9; i++) {
      buf[pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    buf[pos++] = Number(v);
    return pos;
  }
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
  return pos;
}

/** Bytes of a uint64 varint given as a bigint in [0, 2^64). */
export function uint64Len(v: bigint): number {
  let len = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    len++;
  }
  return len;
}

export function writeUint64(buf: Buffer, pos: number, v: bigint): number {
  while (v >= 0x80n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}
