import { gunzipSync } from "node:zlib";
import { Code, type GrpcStatus } from "./status.js";

/** Bytes of a gRPC message's prefix: the compressed flag, then the length (big-endian uint32). */
export const PREFIX_BYTES = 5;

/** A message framed for the wire: the prefix, then the bytes (never compressed: the server sends identity). */
export function frameMessage(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + payload.length);
  writePrefix(out, 0, payload.length);
  payload.copy(out, PREFIX_BYTES);
  return out;
}

/** The prefix of an uncompressed message of `length` bytes, written at `at`. */
export function writePrefix(buf: Buffer, at: number, length: number): void {
  buf[at] = 0;
  buf.writeUInt32BE(length, at + 1);
}

/** What a request's grpc-encoding allows: identity, or gzip (the compressor grpc-go registers). */
export type Encoding = "identity" | "gzip";

/** The encoding named by grpc-encoding, or the status grpc-go answers for one it has no decompressor for. */
export function encodingOf(header: string | undefined): Encoding | GrpcStatus {
  if (header === undefined || header === "" || header === "identity") return "identity";
  if (header === "gzip") return "gzip";
  return { code: Code.UNIMPLEMENTED, message: `grpc: Decompressor is not installed for grpc-encoding "${header}"` };
}

/**
 * Cuts the DATA of one stream into gRPC messages, whatever the chunking. A length over the limit is refused from the
 * prefix, before any of the message is held (grpc-go's recvMsg: RESOURCE_EXHAUSTED, its text); so is a compressed
 * message that inflates past it. After an error the reader takes nothing more. While paused, bytes are kept and no
 * message is handed on; resume() hands on what is whole.
 *
 * Whole messages in a chunk are handed on as views of it; a message that spans chunks is copied into one buffer
 * that grows by doubling, so a client sending a message one byte per DATA frame costs copies in proportion to its
 * bytes and no object per frame (a list of the frames' chunks would hold ~100 bytes of objects per byte sent). A
 * buffer a message was handed on from is never written again: what follows it moves to a new one.
 */
export class MessageReader {
  /** Bytes received and not yet handed on: acc[0, held). */
  private acc: Buffer | undefined;
  private held = 0;
  private failed = false;
  private paused = false;
  private delivering = false;

  constructor(
    private readonly maxBytes: number,
    private readonly encoding: Encoding,
    private readonly onMessage: (msg: Buffer) => void,
    private readonly onError: (s: GrpcStatus) => void,
  ) {}

  /** Whether bytes were received that are not yet handed on (a stream ending here, unpaused, ends mid-message). */
  get holdsPart(): boolean {
    return this.held > 0;
  }

  push(chunk: Buffer): void {
    if (this.failed || chunk.length === 0) return;
    if (this.held > 0 || this.paused) {
      this.keep(chunk);
      return this.deliverHeld();
    }
    const used = this.deliverFrom(chunk);
    if (!this.failed && used < chunk.length) this.keep(chunk.subarray(used));
  }

  /** No message is handed on until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    // a resume from a message's handler: the delivery under way goes on
    if (!this.failed && !this.delivering) this.deliverHeld();
  }

  private deliverHeld(): void {
    if (this.paused || this.held === 0) return;
    const acc = this.acc!;
    const used = this.deliverFrom(acc.subarray(0, this.held));
    if (this.failed || used === 0) return;
    const rest = acc.subarray(used, this.held);
    this.acc = undefined;
    this.held = 0;
    if (rest.length > 0) this.keep(rest);
  }

  /** Hands on the whole messages at the start of buf (until paused or failed); returns the bytes used. */
  private deliverFrom(buf: Buffer): number {
    let at = 0;
    this.delivering = true;
    try {
      while (!this.paused && buf.length - at >= PREFIX_BYTES) {
        const flag = buf[at]!;
        const len = buf.readUInt32BE(at + 1);
        if (len > this.maxBytes) {
          this.fail({ code: Code.RESOURCE_EXHAUSTED, message: `grpc: received message larger than max (${len} vs. ${this.maxBytes})` });
          return at;
        }
        if (buf.length - at - PREFIX_BYTES < len) break;
        const body = buf.subarray(at + PREFIX_BYTES, at + PREFIX_BYTES + len);
        at += PREFIX_BYTES + len;
        const msg = this.payload(flag, body);
        if (msg === undefined) return at;
        this.onMessage(msg);
        if (this.failed) return at;
      }
      return at;
    } finally {
      this.delivering = false;
    }
  }

  /** Appends bytes to what is held, growing the buffer by doubling. */
  private keep(bytes: Buffer): void {
    const need = this.held + bytes.length;
    if (!this.acc || this.acc.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * (this.acc?.length ?? 0), 256));
      if (this.acc) this.acc.copy(grown, 0, 0, this.held);
      this.acc = grown;
    }
    bytes.copy(this.acc, this.held);
    this.held = need;
  }

  private payload(flag: number, body: Buffer): Buffer | undefined {
    if (flag === 0) return body;
    if (flag !== 1) return this.fail({ code: Code.INTERNAL, message: `grpc: received unexpected payload format ${flag}` });
    if (this.encoding === "identity") return this.fail({ code: Code.INTERNAL, message: "grpc: compressed flag set with identity or empty encoding" });
    try {
      return gunzipSync(body, { maxOutputLength: this.maxBytes });
    } catch (e) {
      if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
        return this.fail({ code: Code.RESOURCE_EXHAUSTED, message: `grpc: received message after decompression larger than max (${this.maxBytes + 1} vs. ${this.maxBytes})` });
      }
      return this.fail({ code: Code.INTERNAL, message: `grpc: failed to decompress the received message: ${(e as Error).message}` });
    }
  }

  private fail(s: GrpcStatus): undefined {
    this.failed = true;
    this.acc = undefined;
    this.held = 0;
    this.onError(s);
    return undefined;
  }
}
