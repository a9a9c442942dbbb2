/**
 * HTTP/2 frames (RFC 7540 §4, §6) as the benchmark's gRPC client needs them: the constants, the few frames it
 * writes, and a reader that cuts a byte stream into frames without copying them.
 */

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const FRAME_HEADER_BYTES = 9;
/** The largest frame payload every peer must accept (SETTINGS_MAX_FRAME_SIZE's initial value). */
export const DEFAULT_MAX_FRAME = 16_384;
export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 0x7fff_ffff;

export const enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

export const enum Flag {
  END_STREAM = 0x1,
  ACK = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

export const enum Setting {
  HEADER_TABLE_SIZE = 0x1,
  ENABLE_PUSH = 0x2,
  MAX_CONCURRENT_STREAMS = 0x3,
  INITIAL_WINDOW_SIZE = 0x4,
  MAX_FRAME_SIZE = 0x5,
  MAX_HEADER_LIST_SIZE = 0x6,
}

export const enum H2Error {
  NO_ERROR = 0x0,
  PROTOCOL_ERROR = 0x1,
  INTERNAL_ERROR = 0x2,
  FLOW_CONTROL_ERROR = 0x3,
  STREAM_CLOSED = 0x5,
  FRAME_SIZE_ERROR = 0x6,
  REFUSED_STREAM = 0x7,
  CANCEL = 0x8,
  COMPRESSION_ERROR = 0x9,
}

/** Writes a frame header at `at` of `buf`. */
export function writeFrameHeader(buf: Buffer, at: number, length: number, type: number, flags: number, streamId: number): void {
  buf[at] = (length >>> 16) & 0xff;
  buf[at + 1] = (length >>> 8) & 0xff;
  buf[at + 2] = length & 0xff;
  buf[at + 3] = type;
  buf[at + 4] = flags;
  buf.writeUInt32BE(streamId & 0x7fff_ffff, at + 5);
}

// The frames a client writes are built as the server's side builds them (one definition of each).
export { frame, goawayFrame, rstStreamFrame, settingsFrame, windowUpdateFrame } from "../../server/grpcwire/h2/frames.js";

/** A frame as the reader hands it out: the payload is a view into the read buffer, valid during the callback. */
export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export class FrameSizeError extends Error {}

/**
 * Cuts incoming bytes into frames. Payloads are views (no copy) into the chunk they arrived in, or into one
 * joined buffer when a frame spans chunks; the callback must copy what it keeps.
 */
export class FrameReader {
  /** Bytes of an incomplete frame, kept as chunks until the whole frame is there (no quadratic re-joining). */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private needed = FRAME_HEADER_BYTES;
  constructor(
    private readonly maxFrame: number,
    private readonly onFrame: (f: Frame) => void,
  ) {}

  push(chunk: Buffer): void {
    let b = chunk;
    if (this.heldBytes > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes < this.needed) return;
      b = Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
    }
    let o = 0;
    const f: Frame = { type: 0, flags: 0, streamId: 0, payload: b };
    while (b.length - o >= FRAME_HEADER_BYTES) {
      const len = (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
      if (len > this.maxFrame) throw new FrameSizeError(`frame of ${len} bytes exceeds SETTINGS_MAX_FRAME_SIZE ${this.maxFrame}`);
      if (b.length - o < FRAME_HEADER_BYTES + len) break;
      f.type = b[o + 3]!;
      f.flags = b[o + 4]!;
      f.streamId = b.readUInt32BE(o + 5) & 0x7fff_ffff;
      f.payload = b.subarray(o + FRAME_HEADER_BYTES, o + FRAME_HEADER_BYTES + len);
      o += FRAME_HEADER_BYTES + len;
      this.onFrame(f);
    }
    if (o < b.length) {
      const rest = b.subarray(o);
      // Wait for the whole frame if its header is there, else for the header (the length was checked above).
      this.needed = rest.length >= FRAME_HEADER_BYTES ? FRAME_HEADER_BYTES + ((rest[0]! << 16) | (rest[1]! << 8) | rest[2]!) : FRAME_HEADER_BYTES;
      this.held = [Buffer.from(rest)];
      this.heldBytes = rest.length;
    }
  }
}

/** The part of a HEADERS/DATA payload after the pad length and priority fields, without the padding. */
export function unpad(f: Frame, hasPriority: boolean): Buffer {
  let start = 0;
  let end = f.payload.length;
  if (f.flags & Flag.PADDED) {
    const pad = f.payload[0] ?? 0;
    start = 1;
    end -= pad;
  }
  if (hasPriority && f.flags & Flag.PRIORITY) start += 5;
  if (end < start) throw new FrameSizeError(`frame padding (${f.payload.length} bytes) longer than the frame`);
  return f.payload.subarray(start, end);
}
