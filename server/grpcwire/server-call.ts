import { constants, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import { frameMessage } from "./message-reader.js";
import type { MethodSpec } from "./method.js";
import { Code, STATUS_OK, statusFields, type GrpcStatus } from "./status.js";

/** grpc-go's response headers (no compression, no content-subtype). */
const RESPONSE_HEADERS = { ":status": 200, "content-type": "application/grpc" } as const;
const OK_TRAILERS = statusFields(STATUS_OK);
const RESPOND_WITH_TRAILERS = { waitForTrailers: true } as const;

/** The reading side of a call as the server drives it (the stream and the message reader behind it). */
export interface ReadControl {
  pause(): void;
  resume(): void;
}

/** What every call offers whatever its messages' types: who asks, how long they wait, and how it ends. */
export interface CallInfo {
  readonly headers: IncomingHttpHeaders;
  readonly session: ServerHttp2Session;
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
  private trailers: Record<string, string> = OK_TRAILERS;
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
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    /** The client's grpc-timeout in milliseconds, when it sent one. */
    readonly timeoutMs: number | undefined,
  ) {}

  get session(): ServerHttp2Session {
    return this.stream.session as ServerHttp2Session;
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
      try {
        if (!this.session.ping((err) => resolve(!err))) resolve(false);
      } catch {
        resolve(false); // the session is closing
      }
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

  /** A unary (or client-stream) call's answer: the message, then status OK. */
  reply(res: Res): void {
    if (this.done) return;
    let bytes: Buffer;
    try {
      bytes = frameMessage(this.spec.encode(res));
    } catch (e) {
      return this.end({ code: Code.INTERNAL, message: `grpc: error while marshaling: ${(e as Error).message}` });
    }
    if (!this.writableStream()) return;
    this.status = STATUS_OK;
    this.settle();
    this.respond();
    this.stream.end(bytes);
  }

  /** One message of a server stream; false when the client should drain first (then onDrain runs). */
  write(res: Res): boolean {
    if (this.done || !this.writableStream()) return false;
    const bytes = frameMessage(this.spec.encode(res));
    if (!this.headersSent) this.respond();
    this.pendingWrites++;
    return this.stream.write(bytes, this.written);
  }

  /** Ends the call with a status (OK by default). */
  end(status: GrpcStatus = STATUS_OK): void {
    if (this.done) return;
    this.status = status;
    this.settle();
    if (!this.writableStream()) return;
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond({ ...RESPONSE_HEADERS, ...statusFields(status) }, { endStream: true });
      this.closeRemote();
      return;
    }
    this.trailers = status.code === Code.OK && status.message === "" ? OK_TRAILERS : statusFields(status);
    this.stream.end();
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
    this.stream.respond(RESPONSE_HEADERS, RESPOND_WITH_TRAILERS);
    this.stream.once("wantTrailers", this.sendTrailers);
  }

  private readonly sendTrailers = (): void => {
    if (this.stream.destroyed) return;
    this.stream.sendTrailers(this.trailers);
    this.closeRemote();
  };

  /**
   * After the status: a client still sending is told the stream is over (RST_STREAM NO_ERROR after the trailers,
   * as grpc-go's finishStream does), so a stream it never half-closes does not stay open.
   */
  private closeRemote(): void {
    if (!this.stream.readableEnded && !this.stream.destroyed) this.stream.close(constants.NGHTTP2_NO_ERROR);
  }

  /** A message reached the connection; once none waits, the handler may write more (a drain in messages). */
  private readonly written = (): void => {
    if (--this.pendingWrites === 0) this.onDrain?.();
  };

  private writableStream(): boolean {
    return !this.stream.destroyed && !this.stream.closed;
  }
}
