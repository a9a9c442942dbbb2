import type { IncomingHttpHeaders } from "node:http2";
import type { H2Connection } from "./h2/connection.js";
import { encodeFields } from "./h2/hpack.js";
import type { H2Stream, Payload } from "./h2/stream.js";
import { PREFIX_BYTES, frameMessage, writePrefix } from "./message-reader.js";
import type { EncodedMessage, MethodSpec } from "./method.js";
import { Code, STATUS_OK, statusFields, type GrpcStatus } from "./status.js";

/** grpc-go's response headers (no compression, no content-subtype), encoded once. */
const RESPONSE_FIELDS: ReadonlyArray<readonly [string, string]> = [
  [":status", "200"],
  ["content-type", "application/grpc"],
];
const RESPONSE_BLOCK = encodeFields(RESPONSE_FIELDS);
const OK_TRAILERS_BLOCK = encodeFields(Object.entries(statusFields(STATUS_OK)));

/** The trailers carrying a status; with the response headers in front for a Trailers-Only response. */
function statusBlock(s: GrpcStatus, trailersOnly: boolean): Buffer {
  if (!trailersOnly && s.code === Code.OK && s.message === "") return OK_TRAILERS_BLOCK;
  const fields = Object.entries(statusFields(s));
  return encodeFields(trailersOnly ? [...RESPONSE_FIELDS, ...fields] : fields);
}

/** A message with its gRPC prefix, as one DATA payload. */
class FramedMessage implements Payload {
  readonly length: number;
  constructor(private readonly message: EncodedMessage) {
    this.length = PREFIX_BYTES + message.length;
  }

  writeTo(buf: Buffer, at: number): void {
    writePrefix(buf, at, this.message.length);
    this.message.writeTo(buf, at + PREFIX_BYTES);
  }
}

/** The reading side of a call as the server drives it (the stream and the message reader behind it). */
export interface ReadControl {
  pause(): void;
  resume(): void;
}

/** What every call offers whatever its messages' types: who asks, how long they wait, and how it ends. */
export interface CallInfo {
  readonly headers: IncomingHttpHeaders;
  readonly session: H2Connection;
  readonly timeoutMs: number | undefined;
  readonly done: boolean;
  metadata(key: string): string | undefined;
  onCancel(f: () => void): void;
  onDone(f: () => void): void;
  end(status?: GrpcStatus): void;
  fail(status: GrpcStatus): void;
}

/**
 * One gRPC call on one HTTP/2 stream, as a handler sees it: the request's headers, answers (a unary reply, stream
 * messages, a final status), and what the client does (messages, half-close, going away).
 *
 * The call ends once: with a status (`reply` sends OK after the message; `end` and `fail` send theirs), or when the
 * client goes away first (RST_STREAM, the connection closing), which is its cancel. After that every send is a no-op.
 * A status before any message goes as a Trailers-Only response, as grpc-go sends it.
 */
export class ServerCall<Req, Res> implements CallInfo {
  private headersSent = false;
  private finished = false;
  private cancelledByClient = false;
  private status: GrpcStatus | undefined;
  private paused = false;
  private cancelListeners: Array<() => void> | undefined;
  private doneListeners: Array<() => void> | undefined;
  /** Messages written to the stream and not yet handed to the connection. */
  pendingWrites = 0;
  onMessage: ((req: Req) => void) | undefined;
  onHalfClose: (() => void) | undefined;
  onDrain: (() => void) | undefined;
  /** How the server reads this call's messages; pause()/resume() go through it (set by the server). */
  reading: ReadControl | undefined;

  constructor(
    readonly spec: MethodSpec<Req, Res>,
    readonly stream: H2Stream,
    readonly headers: IncomingHttpHeaders,
    /** The client's grpc-timeout in milliseconds, when it sent one. */
    readonly timeoutMs: number | undefined,
    /** The connection the call came on. */
    readonly session: H2Connection,
  ) {
    stream.onDrain = this.drained;
  }

  /** The first value of a metadata key (ASCII keys only; -bin keys are the caller's to decode). */
  metadata(key: string): string | undefined {
    const v = this.headers[key];
    if (Array.isArray(v)) return v[0];
    return v;
  }

  /** Whether the call has ended (answered, or cancelled by the client). */
  get done(): boolean {
    return this.finished || this.cancelledByClient;
  }

  /** Whether the client went away before the call ended (RST_STREAM, the connection closing). */
  get cancelled(): boolean {
    return this.cancelledByClient;
  }

  /** The status the call ended with, when it ended with one (not when cancelled). */
  get endedWith(): GrpcStatus | undefined {
    return this.status;
  }

  /**
   * Resolves true once the client has answered a PING sent now; false when none can be sent or the connection
   * closes first. HTTP/2 frames arrive in order, so by then everything the client sent before it read the PING has
   * been handled: a reset that follows its half-close (a Node or grpc-js client's cancel) has cancelled the call.
   */
  roundTrip(): Promise<boolean> {
    return new Promise((resolve) => {
      if (!this.session.ping((err) => resolve(!err))) resolve(false);
    });
  }

  /**
   * Stops reading the client's messages: no onMessage or onHalfClose until resume(). What the client sends meanwhile
   * stays unread in the HTTP/2 stream, so its flow-control window is not reopened and the client must wait (at most
   * a window and a read buffer of its data is held). For a handler that must finish with one message (a write to
   * disk) before it takes the next.
   */
  pause(): void {
    if (this.paused || this.done) return;
    this.paused = true;
    if (this.reading) this.reading.pause();
    else this.stream.pause();
  }

  /** Reads again: messages held while paused are handed on first, in order. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.done) return;
    if (this.reading) this.reading.resume();
    else this.stream.resume();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Runs f when the client goes away before the call ends (at most once; at once if it already has). */
  onCancel(f: () => void): void {
    if (this.cancelledByClient) return f();
    if (this.finished) return;
    (this.cancelListeners ??= []).push(f);
  }

  /** Runs f once the call ends, either way (answered or cancelled). */
  onDone(f: () => void): void {
    if (this.done) return f();
    (this.doneListeners ??= []).push(f);
  }

  /** A unary (or client-stream) call's answer: the message, then status OK (one write with the headers). */
  reply(res: Res): void {
    if (this.done) return;
    let bytes: Buffer;
    try {
      bytes = frameMessage(this.spec.encode(res));
    } catch (e) {
      return this.end({ code: Code.INTERNAL, message: `grpc: error while marshaling: ${(e as Error).message}` });
    }
    if (this.stream.closed) return;
    this.status = STATUS_OK;
    this.settle();
    this.respond();
    this.stream.write(bytes);
    this.stream.end(OK_TRAILERS_BLOCK);
  }

  /** One message of a server stream; false when the client should drain first (then onDrain runs). */
  write(res: Res): boolean {
    if (this.done || this.stream.closed) return false;
    const bytes = frameMessage(this.spec.encode(res));
    if (!this.headersSent) this.respond();
    if (this.stream.write(bytes)) return true;
    this.pendingWrites++;
    return false;
  }

  /** write() of a message that encodes itself: written in place in the connection's write when it can go at once. */
  writeMessage(m: EncodedMessage): boolean {
    if (this.done || this.stream.closed) return false;
    if (!this.headersSent) this.respond();
    if (this.stream.writePayload(new FramedMessage(m))) return true;
    this.pendingWrites++;
    return false;
  }

  /**
   * Ends the call with a status (OK by default): in the trailers after what was sent, or as a Trailers-Only
   * response. A client still sending is then told the stream is over (RST_STREAM NO_ERROR, as grpc-go does).
   */
  end(status: GrpcStatus = STATUS_OK): void {
    if (this.done) return;
    this.status = status;
    this.settle();
    if (this.stream.closed) return;
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond(statusBlock(status, true), true);
      return;
    }
    this.stream.end(statusBlock(status, false));
  }

  fail(status: GrpcStatus): void {
    this.end(status);
  }

  /** Called by the server: the stream closed before the call ended. */
  cancel(): void {
    if (this.done) return;
    this.cancelledByClient = true;
    const ls = this.cancelListeners;
    this.cancelListeners = undefined;
    if (ls) for (const f of ls) f();
    this.runDone();
  }

  private settle(): void {
    this.finished = true;
    this.cancelListeners = undefined;
    this.runDone();
  }

  private runDone(): void {
    const ls = this.doneListeners;
    this.doneListeners = undefined;
    if (ls) for (const f of ls) f();
  }

  private respond(): void {
    this.headersSent = true;
    this.stream.respond(RESPONSE_BLOCK);
  }

  /** What write() queued has all reached the connection: the handler may write more (a drain in messages). */
  private readonly drained = (): void => {
    this.pendingWrites = 0;
    this.onDrain?.();
  };
}
