/**
 * HTTP/2 framing (RFC 9113 §4, §6): frames read whole from a byte stream, as views into the received bytes (nothing
 * here allocates per byte), header blocks reassembled from HEADERS + CONTINUATION, and the frames a server sends.
 */

export const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
export const FRAME_HEADER_LENGTH = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value: every peer accepts frames this large (RFC 9113 §6.5.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  /** SETTINGS and PING. */
  ACK: 0x1,
  /** DATA and HEADERS. */
  END_STREAM: 0x1,
  /** HEADERS, PUSH_PROMISE and CONTINUATION. */
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** RFC 9113 §6.5.2. */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** RFC 9113 §7. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** The flow-control window every stream and the connection start with (RFC 9113 §6.9.2), and the largest one. */
export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 0x7fff_ffff;
/** SETTINGS_MAX_FRAME_SIZE's upper bound (RFC 9113 §6.5.2). */
export const MAX_ALLOWED_FRAME_SIZE = 0xff_ffff;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  /** The 9-byte header and the payload, as received. */
  raw: Buffer;
  payload: Buffer;
}

export class FrameError extends Error {}

/** A frame longer than the reader accepts (RFC 9113 §4.2: FRAME_SIZE_ERROR), judged from its header. */
export class FrameSizeError extends FrameError {}

export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER_LENGTH);
  writeFrameHeader(h, 0, length, type, flags, streamId);
  return h;
}

/** A frame header written at `at` (FRAME_HEADER_LENGTH bytes); by hand, since Buffer's checked writers cost more than it. */
export function writeFrameHeader(buf: Buffer, at: number, length: number, type: number, flags: number, streamId: number): void {
  buf[at] = length >>> 16;
  buf[at + 1] = length >>> 8;
  buf[at + 2] = length;
  buf[at + 3] = type;
  buf[at + 4] = flags;
  const id = streamId & 0x7fffffff;
  buf[at + 5] = id >>> 24;
  buf[at + 6] = id >>> 16;
  buf[at + 7] = id >>> 8;
  buf[at + 8] = id;
}

/**
 * Splits a byte stream into whole frames. push() returns the frames a chunk completes (views into the chunk, or
 * into one copy when a frame spans chunks); the bytes of an incomplete frame wait for the next push().
 */
export class FrameSplitter {
  private tail: Buffer = Buffer.alloc(0);

  /** maxPayload: a frame announcing more is a FrameError from its header, before its payload is held. */
  constructor(private readonly maxPayload = MAX_ALLOWED_FRAME_SIZE) {}

  push(chunk: Buffer): Frame[] {
    const buf = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    const frames: Frame[] = [];
    let off = 0;
    while (buf.length - off >= FRAME_HEADER_LENGTH) {
      const length = buf.readUIntBE(off, 3);
      if (length > this.maxPayload) throw new FrameSizeError(`frame of ${length} bytes, over ${this.maxPayload}`);
      const end = off + FRAME_HEADER_LENGTH + length;
      if (end > buf.length) break;
      frames.push({
        type: buf[off + 3]!,
        flags: buf[off + 4]!,
        streamId: buf.readUInt32BE(off + 5) & 0x7fffffff,
        raw: buf.subarray(off, end),
        payload: buf.subarray(off + FRAME_HEADER_LENGTH, end),
      });
      off = end;
    }
    this.tail = buf.subarray(off);
    return frames;
  }

  /** Bytes received that do not make a whole frame yet. */
  get pending(): Buffer {
    return this.tail;
  }
}

/** One header block (RFC 9113 §4.3): a HEADERS frame and the CONTINUATION frames up to END_HEADERS, reassembled. */
export interface HeaderBlock {
  streamId: number;
  /** The HEADERS frame's flags (END_STREAM, PRIORITY...). */
  flags: number;
  /** The 5 bytes of the HEADERS frame's PRIORITY fields, when it has the PRIORITY flag. */
  priority: Buffer | undefined;
  /** The field block: the fragments without padding or priority fields, concatenated. */
  block: Buffer;
  /** The frames as received. */
  frames: Frame[];
}

/**
 * Collects HEADERS + CONTINUATION frames into header blocks. accept() takes every frame: it returns "other" for a
 * frame outside any block, "partial" while a block waits for END_HEADERS, or the completed block. A frame other than
 * the expected CONTINUATION in the middle of a block is a connection error for the peer (RFC 9113 §6.10): FrameError.
 */
export class HeaderBlockAssembler {
  private open: { streamId: number; flags: number; priority: Buffer | undefined; fragments: Buffer[]; frames: Frame[]; size: number } | undefined;

  constructor(private readonly maxBlockSize = 1 << 20) {}

  get inBlock(): boolean {
    return this.open !== undefined;
  }

  accept(f: Frame): HeaderBlock | "other" | "partial" {
    if (this.open) {
      if (f.type !== FrameType.CONTINUATION || f.streamId !== this.open.streamId) throw new FrameError(`frame type ${f.type} inside a header block`);
      this.open.fragments.push(f.payload);
      this.open.frames.push(f);
      this.open.size += f.payload.length;
      if (this.open.size > this.maxBlockSize) throw new FrameError("header block too large");
      return this.finishIfEnd(f);
    }
    if (f.type === FrameType.CONTINUATION) throw new FrameError("CONTINUATION outside a header block");
    if (f.type !== FrameType.HEADERS) return "other";
    const { fragment, priority } = headersFragment(f);
    this.open = { streamId: f.streamId, flags: f.flags, priority, fragments: [fragment], frames: [f], size: fragment.length };
    return this.finishIfEnd(f);
  }

  private finishIfEnd(f: Frame): HeaderBlock | "partial" {
    if ((f.flags & Flag.END_HEADERS) === 0) return "partial";
    const o = this.open!;
    this.open = undefined;
    return { streamId: o.streamId, flags: o.flags, priority: o.priority, block: o.fragments.length === 1 ? o.fragments[0]! : Buffer.concat(o.fragments), frames: o.frames };
  }
}

/** A HEADERS frame's field block fragment, without its padding (PADDED) and priority fields (PRIORITY). */
export function headersFragment(f: Frame): { fragment: Buffer; priority: Buffer | undefined } {
  let start = 0;
  let end = f.payload.length;
  if (f.flags & Flag.PADDED) {
    if (end < 1) throw new FrameError("PADDED HEADERS without a pad length");
    end -= f.payload[0]!;
    start = 1;
  }
  let priority: Buffer | undefined;
  if (f.flags & Flag.PRIORITY) {
    priority = f.payload.subarray(start, start + 5);
    start += 5;
  }
  if (end < start) throw new FrameError("HEADERS padding longer than the frame");
  return { fragment: f.payload.subarray(start, end), priority };
}

/**
 * A header block as frames again: one HEADERS (its END_STREAM and PRIORITY as given, no padding) and as many
 * CONTINUATION frames as maxFrameSize needs, the last with END_HEADERS.
 */
export function encodeHeaderBlock(streamId: number, flags: number, priority: Buffer | undefined, block: Buffer, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): Buffer {
  const parts: Buffer[] = [];
  const prio = (flags & Flag.PRIORITY) !== 0 ? priority : undefined;
  const firstRoom = maxFrameSize - (prio ? prio.length : 0);
  const first = block.subarray(0, firstRoom);
  let rest = block.subarray(first.length);
  const headersFlags = (flags & (Flag.END_STREAM | (prio ? Flag.PRIORITY : 0))) | (rest.length === 0 ? Flag.END_HEADERS : 0);
  parts.push(frameHeader(first.length + (prio ? prio.length : 0), FrameType.HEADERS, headersFlags, streamId));
  if (prio) parts.push(prio);
  parts.push(first);
  while (rest.length > 0) {
    const piece = rest.subarray(0, maxFrameSize);
    rest = rest.subarray(piece.length);
    parts.push(frameHeader(piece.length, FrameType.CONTINUATION, rest.length === 0 ? Flag.END_HEADERS : 0, streamId), piece);
  }
  return Buffer.concat(parts);
}

/** A whole frame: header and payload in one Buffer. */
export function frame(type: number, flags: number, streamId: number, payload?: Buffer): Buffer {
  const length = payload ? payload.length : 0;
  const b = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + length);
  b.writeUIntBE(length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(streamId & 0x7fffffff, 5);
  if (payload) payload.copy(b, FRAME_HEADER_LENGTH);
  return b;
}

export function settingsFrame(settings: ReadonlyArray<readonly [number, number]>): Buffer {
  const p = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], i) => {
    p.writeUInt16BE(id, 6 * i);
    p.writeUInt32BE(value, 6 * i + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, p);
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(increment, 0);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, p);
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(code, 0);
  return frame(FrameType.RST_STREAM, 0, streamId, p);
}

export function goawayFrame(lastStreamId: number, code: number, debug?: Buffer): Buffer {
  const p = Buffer.alloc(8 + (debug ? debug.length : 0));
  p.writeUInt32BE(lastStreamId & 0x7fffffff, 0);
  p.writeUInt32BE(code, 4);
  if (debug) debug.copy(p, 8);
  return frame(FrameType.GOAWAY, 0, 0, p);
}

export function pingFrame(payload: Buffer, ack: boolean): Buffer {
  return frame(FrameType.PING, ack ? Flag.ACK : 0, 0, payload);
}
