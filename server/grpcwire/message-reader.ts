import { gunzipSync } from "node:zlib";
import { Code, type GrpcStatus } from "./status.js";

/** Bytes of a gRPC message's prefix: the compressed flag, then the length (big-endian uint32). */
export const PREFIX_BYTES = 5;

/** A message framed for the wire: the prefix, then the bytes (never compressed: the server sends identity). */
export function frameMessage(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, PREFIX_BYTES);
  return out;
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
 * message that inflates past it. After an error the reader takes nothing more.
 */
export class MessageReader {
  private head: Buffer | undefined;
  private failed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly encoding: Encoding,
    private readonly onMessage: (msg: Buffer) => void,
    private readonly onError: (s: GrpcStatus) => void,
  ) {}

  /** Whether part of a message was received and not its end (a stream ending here ends mid-message). */
  get holdsPart(): boolean {
    return this.head !== undefined;
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    let buf = this.head ? Buffer.concat([this.head, chunk]) : chunk;
    this.head = undefined;
    let at = 0;
    while (buf.length - at >= PREFIX_BYTES) {
      const flag = buf[at]!;
      const len = buf.readUInt32BE(at + 1);
      if (len > this.maxBytes) return this.fail({ code: Code.RESOURCE_EXHAUSTED, message: `grpc: received message larger than max (${len} vs. ${this.maxBytes})` });
      if (buf.length - at - PREFIX_BYTES < len) break;
      const body = buf.subarray(at + PREFIX_BYTES, at + PREFIX_BYTES + len);
      at += PREFIX_BYTES + len;
      const msg = this.payload(flag, body);
      if (msg === undefined) return;
      this.onMessage(msg);
      if (this.failed) return;
    }
    if (at < buf.length) this.head = at === 0 ? buf : buf.subarray(at);
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
    this.head = undefined;
    this.onError(s);
    return undefined;
  }
}
