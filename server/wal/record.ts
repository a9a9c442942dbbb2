/**
 * The WAL's on-disk record framing (see README.md in this folder for the byte-level layout).
 *
 *   frame = header (16 bytes) ++ body (bodyLen bytes) ++ zero padding to a multiple of 16
 *   header:  0  u32 hcrc    CRC-32 of header bytes 4..15
 *            4  u32 crc     chained CRC-32 of bytes 8 .. 16+bodyLen (bodyLen, type, reserved, body)
 *            8  u32 bodyLen
 *           12  u8  type
 *           13  u8  flags (FLAG_*)
 *           14  2 bytes reserved, zero
 *
 * Frames start at 16-byte aligned offsets, so a header never straddles a 512-byte sector.
 */
import type { Entry, EntryType, HardState } from "../raft/types.js";
import { crc32 } from "./crc32.js";
import { ByteArena } from "../util/byte-arena.js";

/** Replayed entry data goes to the raft log: packed in chunks (util/byte-arena.ts), not one ArrayBuffer per entry. */
const replayed = new ByteArena();

export const HEADER_SIZE = 16;
export const SECTOR_SIZE = 512;
/** A record body larger than this is refused on write and treated as corruption on read. */
export const MAX_RECORD_BODY = 256 * 1024 * 1024;

export const REC_METADATA = 1;
export const REC_ENTRY = 2;
export const REC_HARDSTATE = 3;
export const REC_CRC = 4;
export const REC_SNAPSHOT = 5;

export const RECORD_TYPE_NAMES: Readonly<Record<number, string>> = {
  [REC_METADATA]: "metadata",
  [REC_ENTRY]: "entry",
  [REC_HARDSTATE]: "hardstate",
  [REC_CRC]: "crc",
  [REC_SNAPSHOT]: "snapshot",
};

/**
 * Flag of the first frame of a write issued when every byte before it was already fdatasynced:
 * anything after it on disk proves the bytes before it were durable (see findDurableProof).
 */
export const FLAG_DURABLE_BEFORE = 0x01;
/** Flag of a segment's crc record: its writer sets FLAG_DURABLE_BEFORE, so its absence means something. */
export const FLAG_MARKS_DURABLE = 0x02;
const KNOWN_FLAGS = FLAG_DURABLE_BEFORE | FLAG_MARKS_DURABLE;

export const METADATA_BODY = 16;
export const ENTRY_FIXED_BODY = 17;
export const HARDSTATE_BODY = 24;
export const CRC_BODY = 4;
export const SNAPSHOT_BODY = 16;

const TWO32 = 4294967296;

export class WalError extends Error {
  override readonly name = "WalError";
  constructor(
    message: string,
    /** A stable code: ECRC, EHEADER, ETRUNC, ENOTTAIL, EFORMAT, ECHAIN, ESEQ, EGAP, ENOTFOUND, ESNAPSHOT, EMETA, EEXIST, ELOCKED, ECLOSED, EFAILED, EARG. */
    readonly code: string,
    readonly file?: string,
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** Bytes a frame with a body of `bodyLen` bytes occupies on disk. */
export function frameSize(bodyLen: number): number {
  return HEADER_SIZE + ((bodyLen + 15) & ~15);
}

export function putU64(buf: Buffer, off: number, n: number): void {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER) || !Number.isInteger(n)) {
    throw new WalError(`wal: ${n} is not a non-negative safe integer`, "EARG");
  }
  buf.writeUInt32LE(n >>> 0, off);
  buf.writeUInt32LE(Math.floor(n / TWO32), off + 4);
}

export function getU64(buf: Buffer, off: number): number {
  const hi = buf.readUInt32LE(off + 4);
  if (hi > 0x1fffff) throw new RangeError("u64 beyond Number.MAX_SAFE_INTEGER");
  return hi * TWO32 + buf.readUInt32LE(off);
}

/**
 * Seals the frame at `off` whose body (bodyLen bytes) is already in place at off+16: writes the
 * padding, the header fields and both checksums. Returns the frame's chained crc.
 */
export function sealFrame(buf: Buffer, off: number, type: number, bodyLen: number, seed: number, flags = 0): number {
  const end = off + HEADER_SIZE + bodyLen;
  const padEnd = off + frameSize(bodyLen);
  if (padEnd > end) buf.fill(0, end, padEnd);
  buf.writeUInt32LE(bodyLen, off + 8);
  buf[off + 12] = type;
  buf[off + 13] = flags;
  buf[off + 14] = 0;
  buf[off + 15] = 0;
  const crc = crc32(buf.subarray(off + 8, end), seed);
  buf.writeUInt32LE(crc, off + 4);
  buf.writeUInt32LE(crc32(buf.subarray(off + 4, off + HEADER_SIZE)), off);
  return crc;
}

/** Writes an entry frame at `off`; returns the new chained crc. */
export function putEntry(buf: Buffer, off: number, e: Entry, seed: number, flags = 0): number {
  const b = off + HEADER_SIZE;
  putU64(buf, b, e.term);
  putU64(buf, b + 8, e.index);
  buf[b + 16] = e.type;
  buf.set(e.data, b + ENTRY_FIXED_BODY);
  return sealFrame(buf, off, REC_ENTRY, ENTRY_FIXED_BODY + e.data.length, seed, flags);
}

export function putHardState(buf: Buffer, off: number, hs: HardState, seed: number, flags = 0): number {
  const b = off + HEADER_SIZE;
  putU64(buf, b, hs.term);
  buf.writeBigUInt64LE(hs.vote, b + 8);
  putU64(buf, b + 16, hs.commit);
  return sealFrame(buf, off, REC_HARDSTATE, HARDSTATE_BODY, seed, flags);
}

export function putMetadata(buf: Buffer, off: number, memberId: bigint, clusterId: bigint, seed: number): number {
  const b = off + HEADER_SIZE;
  buf.writeBigUInt64LE(memberId, b);
  buf.writeBigUInt64LE(clusterId, b + 8);
  return sealFrame(buf, off, REC_METADATA, METADATA_BODY, seed);
}

export function putSnapshot(buf: Buffer, off: number, index: number, term: number, seed: number, flags = 0): number {
  const b = off + HEADER_SIZE;
  putU64(buf, b, index);
  putU64(buf, b + 8, term);
  return sealFrame(buf, off, REC_SNAPSHOT, SNAPSHOT_BODY, seed, flags);
}

/** The segment-start record: its body is the running crc at the end of the previous segment, which also seeds its own crc. */
export function putCrc(buf: Buffer, off: number, prevCrc: number, flags = FLAG_MARKS_DURABLE): number {
  buf.writeUInt32LE(prevCrc >>> 0, off + HEADER_SIZE);
  return sealFrame(buf, off, REC_CRC, CRC_BODY, prevCrc, flags);
}

/**
 * The records that open a segment, in one buffer: the crc carried over from the previous segment (0
 * for the first), the metadata, then a new WAL's snapshot marker {0, 0} or, on a cut, the last hard
 * state written (none while it is empty). Returns the buffer and the running crc after it.
 */
export function segmentHead(prevCrc: number, memberId: bigint, clusterId: bigint, last: "snapshot" | HardState | undefined): { buf: Buffer; crc: number } {
  const lastSize = last === undefined ? 0 : last === "snapshot" ? frameSize(SNAPSHOT_BODY) : frameSize(HARDSTATE_BODY);
  const buf = Buffer.alloc(frameSize(CRC_BODY) + frameSize(METADATA_BODY) + lastSize);
  let off = 0;
  let crc = putCrc(buf, off, prevCrc);
  off += frameSize(CRC_BODY);
  crc = putMetadata(buf, off, memberId, clusterId, crc);
  off += frameSize(METADATA_BODY);
  if (last === "snapshot") crc = putSnapshot(buf, off, 0, 0, crc);
  else if (last !== undefined) crc = putHardState(buf, off, last, crc);
  return { buf, crc };
}

export function decodeEntry(buf: Buffer, body: number, bodyLen: number): Entry {
  return {
    term: getU64(buf, body),
    index: getU64(buf, body + 8),
    type: buf[body + 16] as EntryType,
    // A copy: the segment buffer is not kept alive by the entries.
    data: replayed.copyOf(buf, body + ENTRY_FIXED_BODY, body + bodyLen),
  };
}

export function decodeHardState(buf: Buffer, body: number): HardState {
  return { term: getU64(buf, body), vote: buf.readBigUInt64LE(body + 8), commit: getU64(buf, body + 16) };
}

function isZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * True when one of the 512-byte sectors the body touches reads as all zeros (clipped to the
 * file's end): the signature of a write that never reached the disk (etcd's isTornEntry).
 */
function hasZeroSector(buf: Buffer, bodyStart: number, bodyEnd: number): boolean {
  for (let s = bodyStart - (bodyStart % SECTOR_SIZE); s < bodyEnd; s += SECTOR_SIZE) {
    if (isZero(buf, s, Math.min(s + SECTOR_SIZE, buf.length))) return true;
  }
  return false;
}

export interface ChainState {
  /** Running crc after the last record read. */
  crc: number;
  /** False until a segment has been read: the first crc record read is trusted as the seed. */
  chained: boolean;
}

export interface TornTail {
  readonly offset: number;
  readonly reason: string;
  /** Whether the bytes cut off hold anything but zeros. */
  readonly nonZero: boolean;
}

export interface ScanResult {
  /** Offset just past the last valid frame. */
  readonly validEnd: number;
  readonly torn?: TornTail;
}

export type RecordVisitor = (type: number, buf: Buffer, body: number, bodyLen: number, offset: number) => void;

/** The body length of a well-formed frame header at `p` (see findDurableProof), or -1. */
function wellFormedHeader(buf: Buffer, p: number): number {
  // The cheap byte checks first: they reject nearly every offset before a crc is computed.
  const type = buf[p + 12]!;
  if (RECORD_TYPE_NAMES[type] === undefined || (buf[p + 13]! & ~KNOWN_FLAGS) !== 0 || buf[p + 14] !== 0 || buf[p + 15] !== 0) return -1;
  const bodyLen = buf.readUInt32LE(p + 8);
  if (bodyLen > MAX_RECORD_BODY || p + frameSize(bodyLen) > buf.length) return -1;
  if (buf.readUInt32LE(p) !== crc32(buf.subarray(p + 4, p + HEADER_SIZE))) return -1;
  return bodyLen;
}

const ZERO_BLOCK = Buffer.alloc(4096);

/** The first 16-aligned offset at or after `p` (16-aligned) whose 16 bytes are not all zero, or buf.length. */
function skipZeros(buf: Buffer, p: number): number {
  // Whole zero blocks by memcmp, then 16 bytes at a time.
  while (p + ZERO_BLOCK.length <= buf.length && buf.compare(ZERO_BLOCK, 0, ZERO_BLOCK.length, p, p + ZERO_BLOCK.length) === 0) p += ZERO_BLOCK.length;
  while (p + HEADER_SIZE <= buf.length && isZero(buf, p, p + HEADER_SIZE)) p += HEADER_SIZE;
  return p + HEADER_SIZE <= buf.length ? p : buf.length;
}

/**
 * Damage at some offset is a torn write only if no record after it proves the damaged bytes had
 * been made durable. Returns the offset of the first such proof at or after `from` (a multiple of
 * 16), or -1. The proof is a well-formed record (a header whose own checksum verifies, a known
 * type and flags, a frame that fits in the file): with FLAG_DURABLE_BEFORE when the segment's
 * writer sets that flag (`marked`); any such record otherwise (segments of older versions).
 * Only aligned offsets are tried (runs of zeros are skipped by memcmp), and the body of a record
 * found is skipped. A body's crc cannot
 * be checked here (its seed is the crc of the frame before, which the damage took), but the
 * header checksum leaves a 1 in 2^32 chance per offset that bytes which are no record pass.
 */
export function findDurableProof(buf: Buffer, from: number, marked: boolean): number {
  let p = skipZeros(buf, from);
  while (p + HEADER_SIZE <= buf.length) {
    const bodyLen = wellFormedHeader(buf, p);
    if (bodyLen < 0) {
      p = skipZeros(buf, p + HEADER_SIZE);
      continue;
    }
    if (!marked || (buf[p + 13]! & FLAG_DURABLE_BEFORE) !== 0) return p;
    p = skipZeros(buf, p + frameSize(bodyLen));
  }
  return -1;
}

/**
 * Validates and visits every frame of one segment. Damage is a WalError, except a torn tail of
 * the last segment (`allowTorn`), which ends the scan and is reported in the result:
 *  - fewer than 16 bytes left, or a valid header whose frame runs past the end of the file (a
 *    write cut short): nothing can follow;
 *  - a header of 16 zero bytes (never written / preallocated), or a crc mismatch in a frame one
 *    of whose body sectors is all zeros (a sector never written), provided nothing after it
 *    proves that it had been made durable (findDurableProof): then it is a lost or zeroed
 *    region of data that reached the disk, not a torn write, and the scan throws ENOTTAIL
 *    instead of dropping what follows.
 * A header whose own checksum fails (and is not all zeros), or a crc mismatch without a zero
 * sector, is corruption wherever it is.
 */
export function scanSegment(buf: Buffer, file: string, allowTorn: boolean, chain: ChainState, visit: RecordVisitor): ScanResult {
  let off = 0;
  const len = buf.length;
  let marked = false;
  /** `after`: where a record that follows the damage could start (undefined: nothing can follow). */
  const torn = (reason: string, after?: number): ScanResult => {
    if (!allowTorn || off === 0) {
      const where = off === 0 ? "segment has no valid header record" : `${reason} in a segment that is not the last`;
      throw new WalError(`wal: ${where}: ${file} at offset ${off}`, "ETRUNC", file, off);
    }
    const next = after === undefined ? -1 : findDurableProof(buf, after, marked);
    if (next >= 0) {
      const proof = marked ? "a record written after it was synced" : "a valid record";
      throw new WalError(
        `wal: ${reason} in ${file} at offset ${off} is followed by ${proof} at offset ${next}: not a torn tail, refusing to drop acknowledged records`,
        "ENOTTAIL",
        file,
        off,
      );
    }
    return { validEnd: off, torn: { offset: off, reason, nonZero: !isZero(buf, off, len) } };
  };
  while (off < len) {
    if (len - off < HEADER_SIZE) return torn("incomplete record header");
    const hcrc = buf.readUInt32LE(off);
    if (hcrc !== crc32(buf.subarray(off + 4, off + HEADER_SIZE))) {
      if (isZero(buf, off, off + HEADER_SIZE)) return torn("zero-filled region", off + HEADER_SIZE);
      throw new WalError(`wal: corrupt record header in ${file} at offset ${off}`, "EHEADER", file, off);
    }
    const stored = buf.readUInt32LE(off + 4);
    const bodyLen = buf.readUInt32LE(off + 8);
    const type = buf[off + 12]!;
    const body = off + HEADER_SIZE;
    const flags = buf[off + 13]!;
    const badFlags = (flags & ~KNOWN_FLAGS) !== 0 || ((flags & FLAG_MARKS_DURABLE) !== 0 && type !== REC_CRC);
    if (RECORD_TYPE_NAMES[type] === undefined || badFlags || buf[off + 14] !== 0 || buf[off + 15] !== 0 || bodyLen > MAX_RECORD_BODY) {
      throw new WalError(`wal: unknown record type ${type} (or bad flags/reserved bytes/length ${bodyLen}) in ${file} at offset ${off}`, "EFORMAT", file, off);
    }
    if (len - off < frameSize(bodyLen)) return torn("record runs past end of file");
    let seed = chain.crc;
    if (type === REC_CRC) {
      if (off !== 0 || bodyLen !== CRC_BODY) throw new WalError(`wal: misplaced crc record in ${file} at offset ${off}`, "EFORMAT", file, off);
      seed = buf.readUInt32LE(body);
      marked = (flags & FLAG_MARKS_DURABLE) !== 0;
    } else if (off === 0) {
      throw new WalError(`wal: segment does not start with a crc record: ${file} at offset 0`, "EFORMAT", file, 0);
    }
    const crc = crc32(buf.subarray(off + 8, body + bodyLen), seed);
    if (crc !== stored) {
      if (allowTorn && hasZeroSector(buf, body, body + bodyLen)) return torn("crc mismatch over a zero-filled sector", off + frameSize(bodyLen));
      throw new WalError(`wal: crc mismatch in ${file} at offset ${off}`, "ECRC", file, off);
    }
    if (type === REC_CRC) {
      if (chain.chained && seed !== chain.crc) {
        throw new WalError(`wal: crc chain broken (segment does not continue the previous one): ${file} at offset 0`, "ECHAIN", file, 0);
      }
    } else {
      visit(type, buf, body, bodyLen, off);
    }
    chain.crc = crc;
    chain.chained = true;
    off += frameSize(bodyLen);
  }
  return { validEnd: off };
}
