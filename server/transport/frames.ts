/**
 * The framing of a raft stream (raft-stream-receiver.ts, peer-sender.ts): after the HTTP upgrade the
 * connection carries frames of `kind (1 byte) | length (4 bytes, big-endian) | payload`. A length is
 * checked against the limit before any of its payload is buffered, so a peer cannot make the reader
 * hold more than one frame of at most `maxPayload` bytes (etcd's rafthttp messageDecoder does the same).
 */
import { encodeMessageInto } from "../raft/message-codec.js";
import { RaftError, type Message } from "../raft/types.js";

export const enum FrameKind {
  /** Sender → receiver: one raft message (server/raft/message-codec.ts encoding). */
  Message = 0,
  /** Sender → receiver: are you there? Answered with a Pong. */
  Ping = 1,
  /** Receiver → sender: the answer to a Ping. */
  Pong = 2,
  /** Receiver → sender: the sender was removed from the cluster (payload: the reason, UTF-8); the receiver then closes. */
  Removed = 3,
}

const HEADER_BYTES = 5;
const KINDS = new Set<number>([FrameKind.Message, FrameKind.Ping, FrameKind.Pong, FrameKind.Removed]);

export interface Frame {
  readonly kind: FrameKind;
  readonly payload: Buffer;
}

/** Frames as one buffer, for one socket write. */
export function encodeFrames(frames: readonly { kind: FrameKind; payload: Uint8Array }[]): Buffer {
  let size = 0;
  for (const f of frames) size += HEADER_BYTES + f.payload.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const f of frames) {
    out[at] = f.kind;
    out.writeUInt32BE(f.payload.length, at + 1);
    out.set(f.payload, at + HEADER_BYTES);
    at += HEADER_BYTES + f.payload.length;
  }
  return out;
}

/**
 * Raft messages as Message frames in one buffer, for one socket write: each encoded straight into
 * its frame (message-codec.ts encodeMessageInto), so a message costs no buffer of its own and no
 * second copy. `sizes[i]` is encodedMessageSize(messages[i]).
 */
export function encodeMessageFrames(messages: readonly Message[], sizes: readonly number[]): Buffer {
  let size = 0;
  for (let i = 0; i < sizes.length; i++) size += HEADER_BYTES + sizes[i]!;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < messages.length; i++) {
    const n = sizes[i]!;
    out[at] = FrameKind.Message;
    out.writeUInt32BE(n, at + 1);
    if (encodeMessageInto(messages[i]!, out, at + HEADER_BYTES) !== at + HEADER_BYTES + n) throw new RaftError("message codec: size mismatch");
    at += HEADER_BYTES + n;
  }
  return out;
}

/** Why a stream is closed: a frame kind that does not exist, or a length over the limit. */
export class FrameError extends Error {}

/**
 * Cuts a byte stream into frames. `push` returns the frames completed by a chunk; it throws
 * FrameError on a frame the stream must be closed for (the caller closes it). A complete frame's
 * payload is a view into the received chunk when the frame lies in one chunk (no copy).
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before the next frame can complete: its header, then header and payload. */
  private need = HEADER_BYTES;

  constructor(private readonly maxPayload: number) {}

  /** Bytes held for an incomplete frame (at most one frame's header and payload). */
  get buffered(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer): Frame[] {
    if (this.pendingBytes + chunk.length < this.need) {
      // A large frame arrives in many chunks: they are joined once, when it is complete.
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      return [];
    }
    const buf = this.pendingBytes > 0 ? Buffer.concat([...this.pending, chunk]) : chunk;
    this.pending = [];
    this.pendingBytes = 0;
    const out: Frame[] = [];
    let at = 0;
    while (buf.length - at >= HEADER_BYTES) {
      const size = this.frameBytes(buf, at);
      if (buf.length - at < size) break;
      out.push({ kind: buf[at]! as FrameKind, payload: buf.subarray(at + HEADER_BYTES, at + size) });
      at += size;
    }
    this.need = HEADER_BYTES;
    if (at < buf.length) {
      // Keep the rest; copied, so a held view does not pin the whole (possibly large) chunk.
      const rest = Buffer.from(buf.subarray(at));
      this.pending.push(rest);
      this.pendingBytes = rest.length;
      if (rest.length >= HEADER_BYTES) this.need = this.frameBytes(rest, 0);
    }
    return out;
  }

  /** The whole size of the frame whose header is at `at`, checked before its payload is read. */
  private frameBytes(buf: Buffer, at: number): number {
    const kind = buf[at]!;
    const length = buf.readUInt32BE(at + 1);
    if (!KINDS.has(kind)) throw new FrameError(`unknown raft stream frame kind ${kind}`);
    if (length > this.maxPayload) throw new FrameError(`raft stream frame of ${length} bytes exceeds the limit of ${this.maxPayload}`);
    return HEADER_BYTES + length;
  }
}
