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
 * message that inflates past it. After an error the reader takes nothing more. The chunks of a message are kept
 * as they came and joined once it is whole (a 1 MiB snapshot chunk arrives in 16 KiB DATA frames). While paused,
 * chunks are kept and no message is handed on; resume() hands on what is whole.
 */
export class MessageReader {
  private parts: Buffer[] = [];
  private held = 0;
  private failed = false;
  private paused = false;

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
    if (this.failed) return;
    if (chunk.length > 0) {
      this.parts.push(chunk);
      this.held += chunk.length;
    }
    this.deliver();
  }

  /** No message is handed on until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.failed) this.deliver();
  }

  private deliver(): void {
    while (!this.paused && this.held >= PREFIX_BYTES) {
      const prefix = this.first(PREFIX_BYTES);
      const flag = prefix[0]!;
      const len = prefix.readUInt32BE(1);
      if (len > this.maxBytes) return void this.fail({ code: Code.RESOURCE_EXHAUSTED, message: `grpc: received message larger than max (${len} vs. ${this.maxBytes})` });
      if (this.held < PREFIX_BYTES + len) return;
      const body = this.take(PREFIX_BYTES + len).subarray(PREFIX_BYTES);
      const msg = this.payload(flag, body);
      if (msg === undefined) return;
      this.onMessage(msg);
      if (this.failed) return;
    }
  }

  /** The first n held bytes (n <= held), as one buffer at the head of parts. */
  private first(n: number): Buffer {
    if (this.parts[0]!.length < n) this.parts = [Buffer.concat(this.parts, this.held)];
    return this.parts[0]!;
  }

  /** Removes and returns the first n held bytes (n <= held), copying only when they span chunks. */
  private take(n: number): Buffer {
    const head = this.first(n);
    this.held -= n;
    if (head.length === n) this.parts.shift();
    else this.parts[0] = head.subarray(n);
    return head.subarray(0, n);
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
    this.parts = [];
    this.held = 0;
    this.onError(s);
    return undefined;
  }
}
