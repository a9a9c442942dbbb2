/**
 * Binary encoding of raft Messages (entries and snapshot included) for the peer transport.
 * Pure DataView code, big endian. Terms and indexes are safe integers stored as u64
 * (hi/lo u32 pairs); node ids are u64 (bigint).
 *
 * Message layout:
 *   u8 version(=1) | u8 type | u64 to | u64 from | u64 term | u64 logTerm | u64 index |
 *   u64 commit | u64 rejectHint | u8 flags (1: reject, 2: snapshot present, 4: commitOnly) |
 *   u32 context length | context | u32 entry count | entries... | [snapshot]
 * Entry layout (ENTRY_OVERHEAD = 21 bytes + data):
 *   u64 term | u64 index | u8 type | u32 data length | data
 * Snapshot layout:
 *   u64 index | u64 term | u32 voter count | u64 voters... | u32 learner count | u64 learners... |
 *   u32 data length | data
 */
import { type ConfState, type Entry, EntryType, type Message, MessageType, type NodeId, RaftError, type Snapshot } from "./types.js";
import { ENTRY_OVERHEAD, NO_ENTRIES } from "./util.js";
import { ByteArena } from "../util/byte-arena.js";

/**
 * Copies of entry data (and context, snapshot data) received from peers: a follower keeps entry data in
 * its raft log until a snapshot compacts it, packed apart from short-lived buffers (util/byte-arena.ts).
 * (Buffer#slice, used here before, is a view of a Buffer input, not a copy: each entry pinned the
 * whole received frame.)
 */
const copies = new ByteArena();

const VERSION = 1;
const FIXED = 1 + 1 + 8 + 8 + 8 * 5 + 1 + 4 + 4;
const TWO32 = 0x1_0000_0000;
const MAX_TYPE = MessageType.PreVoteResp;

export interface DecodeOptions {
  /**
   * Copy entry data, context and snapshot data out of the input (default true). With false,
   * they are views into the input buffer, which must then never be reused or modified.
   */
  readonly copy?: boolean;
}

class Writer {
  readonly buf: Uint8Array;
  readonly dv: DataView;
  pos: number;
  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
  }
  u8(v: number): void {
    this.dv.setUint8(this.pos, v);
    this.pos += 1;
  }
  u32(v: number): void {
    this.dv.setUint32(this.pos, v);
    this.pos += 4;
  }
  num(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RaftError(`message codec: not a non-negative safe integer: ${v}`);
    this.dv.setUint32(this.pos, Math.floor(v / TWO32));
    this.dv.setUint32(this.pos + 4, v >>> 0);
    this.pos += 8;
  }
  id(v: NodeId): void {
    this.dv.setBigUint64(this.pos, BigInt.asUintN(64, v));
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }
}

class Reader {
  readonly buf: Uint8Array;
  readonly dv: DataView;
  pos = 0;
  readonly copy: boolean;
  constructor(buf: Uint8Array, copy: boolean) {
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.copy = copy;
  }
  need(n: number): void {
    if (this.pos + n > this.buf.byteLength) throw new RaftError("message codec: truncated input");
  }
  u8(): number {
    this.need(1);
    return this.dv.getUint8(this.pos++);
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  num(): number {
    this.need(8);
    const hi = this.dv.getUint32(this.pos);
    const lo = this.dv.getUint32(this.pos + 4);
    this.pos += 8;
    const v = hi * TWO32 + lo;
    if (!Number.isSafeInteger(v)) throw new RaftError("message codec: integer out of safe range");
    return v;
  }
  id(): NodeId {
    this.need(8);
    const v = this.dv.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const start = this.pos;
    this.pos += n;
    return this.copy ? copies.copyOf(this.buf, start, start + n) : this.buf.subarray(start, start + n);
  }
}

function snapshotSize(s: Snapshot): number {
  const cs = s.metadata.confState;
  return 8 + 8 + 4 + 8 * cs.voters.length + 4 + 8 * cs.learners.length + 4 + s.data.byteLength;
}

/** Exact encoded size of a message. */
export function encodedMessageSize(m: Message): number {
  let n = FIXED + m.context.byteLength;
  for (let i = 0; i < m.entries.length; i++) n += ENTRY_OVERHEAD + m.entries[i]!.data.byteLength;
  if (m.snapshot !== undefined) n += snapshotSize(m.snapshot);
  return n;
}

function writeEntry(w: Writer, e: Entry): void {
  w.num(e.term);
  w.num(e.index);
  w.u8(e.type);
  w.bytes(e.data);
}

function readEntry(r: Reader): Entry {
  const term = r.num();
  const index = r.num();
  const type = r.u8();
  if (type !== EntryType.Normal && type !== EntryType.ConfChange) throw new RaftError(`message codec: bad entry type ${type}`);
  const data = r.bytes();
  return { term, index, type: type as EntryType, data };
}

export function encodeMessage(m: Message): Uint8Array {
  const out = new Uint8Array(encodedMessageSize(m));
  if (encodeMessageInto(m, out, 0) !== out.byteLength) throw new RaftError("message codec: size mismatch");
  return out;
}

/**
 * Encodes `m` into `out` at `at`, which must have encodedMessageSize(m) bytes from there (a peer
 * stream writes a Ready's messages straight into one frame buffer, with no buffer of their own).
 * Returns where the message ends: the caller checks it against the size it made room for.
 */
export function encodeMessageInto(m: Message, out: Uint8Array, at: number): number {
  const w = new Writer(out, at);
  w.u8(VERSION);
  w.u8(m.type);
  w.id(m.to);
  w.id(m.from);
  w.num(m.term);
  w.num(m.logTerm);
  w.num(m.index);
  w.num(m.commit);
  w.num(m.rejectHint);
  w.u8((m.reject ? 1 : 0) | (m.snapshot !== undefined ? 2 : 0) | (m.commitOnly ? 4 : 0));
  w.bytes(m.context);
  w.u32(m.entries.length);
  for (let i = 0; i < m.entries.length; i++) writeEntry(w, m.entries[i]!);
  if (m.snapshot !== undefined) {
    const s = m.snapshot;
    w.num(s.metadata.index);
    w.num(s.metadata.term);
    const cs = s.metadata.confState;
    w.u32(cs.voters.length);
    for (const id of cs.voters) w.id(id);
    w.u32(cs.learners.length);
    for (const id of cs.learners) w.id(id);
    w.bytes(s.data);
  }
  return w.pos;
}

export function decodeMessage(buf: Uint8Array, opts?: DecodeOptions): Message {
  const r = new Reader(buf, opts?.copy ?? true);
  const version = r.u8();
  if (version !== VERSION) throw new RaftError(`message codec: unknown version ${version}`);
  const type = r.u8();
  if (type > MAX_TYPE) throw new RaftError(`message codec: unknown message type ${type}`);
  const to = r.id();
  const from = r.id();
  const term = r.num();
  const logTerm = r.num();
  const index = r.num();
  const commit = r.num();
  const rejectHint = r.num();
  const flags = r.u8();
  // only the defined bits: a decoded message re-encodes to exactly its input
  if (flags & ~7) throw new RaftError(`message codec: unknown flags ${flags}`);
  const context = r.bytes();
  const count = r.u32();
  // Each entry takes at least ENTRY_OVERHEAD bytes: reject absurd counts before allocating.
  if (count * ENTRY_OVERHEAD > buf.byteLength - r.pos) throw new RaftError("message codec: truncated entries");
  let entries: readonly Entry[] = NO_ENTRIES;
  if (count > 0) {
    const es = new Array<Entry>(count);
    for (let i = 0; i < count; i++) es[i] = readEntry(r);
    entries = es;
  }
  let snapshot: Snapshot | undefined;
  if (flags & 2) {
    const sIndex = r.num();
    const sTerm = r.num();
    const nv = r.u32();
    r.need(nv * 8);
    const voters: NodeId[] = [];
    for (let i = 0; i < nv; i++) voters.push(r.id());
    const nl = r.u32();
    r.need(nl * 8);
    const learners: NodeId[] = [];
    for (let i = 0; i < nl; i++) learners.push(r.id());
    const data = r.bytes();
    const confState: ConfState = { voters, learners };
    snapshot = { metadata: { index: sIndex, term: sTerm, confState }, data };
  }
  if (r.pos !== buf.byteLength) throw new RaftError("message codec: trailing bytes");
  return {
    type: type as MessageType,
    to,
    from,
    term,
    logTerm,
    index,
    entries,
    commit,
    snapshot,
    reject: (flags & 1) !== 0,
    rejectHint,
    context,
    commitOnly: (flags & 4) !== 0,
  };
}

/** Encode one entry alone (ENTRY_OVERHEAD + data bytes), e.g. for a WAL. */
export function encodeEntry(e: Entry): Uint8Array {
  const out = new Uint8Array(ENTRY_OVERHEAD + e.data.byteLength);
  writeEntry(new Writer(out), e);
  return out;
}

export function decodeEntry(buf: Uint8Array, opts?: DecodeOptions): Entry {
  const r = new Reader(buf, opts?.copy ?? true);
  const e = readEntry(r);
  if (r.pos !== buf.byteLength) throw new RaftError("entry codec: trailing bytes");
  return e;
}
