/**
 * Revisions and their on-disk key encoding, byte-identical to etcd's (mvcc/revision.go):
 * 8-byte big-endian main, '_', 8-byte big-endian sub (17 bytes); a tombstone row appends 't'.
 * Bytewise order of these keys is revision order, so the key bucket is a revision log.
 */
export const REV_BYTES_LEN = 17;
export const MARKED_REV_BYTES_LEN = 18;
export const MARK_TOMBSTONE = 0x74; // 't'

const TWO32 = 0x1_0000_0000;

function writeU64(buf: Buffer, off: number, n: number): void {
  buf.writeUInt32BE(Math.floor(n / TWO32) >>> 0, off);
  buf.writeUInt32BE(n >>> 0, off + 4);
}

function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * TWO32 + buf.readUInt32BE(off + 4);
}

/** Key of the row for revision (main, sub); with `tombstone`, the 18-byte tombstone form. */
export function revToBytes(main: number, sub: number, tombstone = false): Buffer {
  const b = Buffer.allocUnsafe(tombstone ? MARKED_REV_BYTES_LEN : REV_BYTES_LEN);
  writeU64(b, 0, main);
  b[8] = 0x5f; // '_'
  writeU64(b, 9, sub);
  if (tombstone) b[17] = MARK_TOMBSTONE;
  return b;
}

/** The 8-byte prefix etcd uses as an exclusive upper bound: every row with main < `main`. */
export function mainRevPrefix(main: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeU64(b, 0, main);
  return b;
}

export function bytesToMain(b: Buffer): number {
  return readU64(b, 0);
}

export function bytesToSub(b: Buffer): number {
  return readU64(b, 9);
}

export function isTombstoneKey(b: Buffer): boolean {
  return b.length === MARKED_REV_BYTES_LEN && b[17] === MARK_TOMBSTONE;
}

/** A compact string id of a revision for sets/maps: the latin1 form of its 17-byte key. */
export function revId(main: number, sub: number): string {
  return revToBytes(main, sub).toString("latin1");
}

/** revId of a row key (tombstone mark ignored). */
export function revIdOfKey(key: Buffer): string {
  return key.toString("latin1", 0, REV_BYTES_LEN);
}
