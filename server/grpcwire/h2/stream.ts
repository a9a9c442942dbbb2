import { DEFAULT_WINDOW, ErrorCode } from "./frames.js";

/**
 * DATA that writes itself where it goes: straight into the connection's write when the windows and the socket have
 * room for all of it at once, else into a buffer of its own that waits in the stream's outbox.
 */
export interface Payload {
  readonly length: number;
  /** Writes the `length` bytes at `at`. */
  writeTo(buf: Buffer, at: number): void;
}

/** What a stream needs of its connection (H2Connection implements it). */
export interface StreamHost {
  /**
   * Sends the payload as one DATA frame, written in place, if nothing of the stream waits and the windows and the
   * socket take all of it now; false (nothing done) otherwise.
   */
  sendInPlace(stream: H2Stream, payload: Payload): boolean;
  /** Queues the response HEADERS (and CONTINUATION) of a stream, END_STREAM when `end`. */
  sendHeaders(stream: H2Stream, block: Buffer, end: boolean): void;
  /** Sends as much of the stream's queued DATA as the windows and the socket allow, then its trailers. */
  pump(stream: H2Stream): void;
  sendReset(stream: H2Stream, code: number): void;
  /** The client may send this much more on the stream: a WINDOW_UPDATE. */
  credit(stream: H2Stream, bytes: number): void;
  /** The stream is over both ways: forget it. */
  forget(stream: H2Stream): void;
}

/** Credit the client's stream window back once this much of it was read (a WINDOW_UPDATE per quarter window). */
const CREDIT_BATCH = DEFAULT_WINDOW >> 2;

/**
 * One request stream of a client connection, as the gRPC layer sees it: the client's DATA in order (pausable, which
 * keeps the client's window closed), its END_STREAM, and the response: headers, DATA queued behind flow control,
 * trailers. It ends once: both sides ended, or a reset either way, or the connection closing; then onClose runs once.
 */
export class H2Stream {
  onData: ((chunk: Buffer) => void) | undefined;
  onEnd: (() => void) | undefined;
  onClose: (() => void) | undefined;
  /** The DATA queued by write() has all gone to the connection. */
  onDrain: (() => void) | undefined;

  /** What the client may still send before a WINDOW_UPDATE (checked by the connection). */
  recvWindow = DEFAULT_WINDOW;
  /** What the server may still send (the client's initial window, moved by its WINDOW_UPDATEs and SETTINGS). */
  sendWindow: number;
  /** DATA payloads waiting for window or socket room, oldest first; then the trailers. */
  readonly outbox: Buffer[] = [];
  outboxBytes = 0;
  /** The trailers block, once end() was called and until it is sent. */
  trailers: Buffer | undefined;

  private paused = false;
  /** DATA that came while paused, with what each counted against the window (credited when handed on). */
  private held: { chunk: Buffer; flow: number }[] | undefined;
  private uncredited = 0;
  private remoteEnded = false;
  /** END_STREAM came while paused: handed on after what is held. */
  private endPending = false;
  private localEnded = false;
  private headersSent = false;
  private needDrain = false;
  private isClosed = false;

  /** `ended`: the request's HEADERS carried END_STREAM (the end is handed on by receiveEnd, after the handler is set). */
  constructor(
    readonly id: number,
    private readonly host: StreamHost,
    initialSendWindow: number,
    ended: boolean,
  ) {
    this.sendWindow = initialSendWindow;
    this.remoteEnded = ended;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Whether the client has ended its side (END_STREAM). */
  get remoteDone(): boolean {
    return this.remoteEnded;
  }

  // ---- the client's side, driven by the connection

  /**
   * A DATA payload (padding removed); `flow`: what the frame counted against the windows; `end`: the frame's
   * END_STREAM. The client's side counts as ended before the data is handed on, so an answer given while handling it
   * is not followed by a reset.
   */
  receive(chunk: Buffer, flow: number, end: boolean): void {
    if (end) this.remoteEnded = true;
    if (this.paused) {
      (this.held ??= []).push({ chunk, flow });
      if (end) this.endPending = true;
      return;
    }
    if (chunk.length > 0) this.onData?.(chunk);
    this.creditBack(flow);
    if (end) this.deliverEnd();
  }

  /** END_STREAM from the client (on HEADERS, or trailers). */
  receiveEnd(): void {
    this.remoteEnded = true;
    if (this.paused) {
      this.endPending = true;
      return;
    }
    this.deliverEnd();
  }

  private deliverEnd(): void {
    if (this.isClosed) return;
    this.endPending = false;
    this.onEnd?.();
    this.closeIfDone();
  }

  /** RST_STREAM from the client, or the connection gone. */
  receiveReset(): void {
    this.close();
  }

  pause(): void {
    this.paused = true;
  }

  /** Hands on what came while paused, in order (a handler may pause again on the way), then END_STREAM. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    while (this.held && this.held.length > 0 && !this.paused && !this.isClosed) {
      const h = this.held.shift()!;
      if (h.chunk.length > 0) this.onData?.(h.chunk);
      this.creditBack(h.flow);
    }
    if (this.paused || this.isClosed) return;
    this.held = undefined;
    if (this.endPending) this.deliverEnd();
  }

  private creditBack(bytes: number): void {
    this.uncredited += bytes;
    if (this.uncredited >= CREDIT_BATCH && !this.remoteEnded && !this.isClosed) {
      const n = this.uncredited;
      this.uncredited = 0;
      this.recvWindow += n;
      this.host.credit(this, n);
    }
  }

  // ---- the server's side

  /** The response headers; `end`: a Trailers-Only response (the block carries the status), the stream's last frame. */
  respond(block: Buffer, end = false): void {
    if (this.isClosed || this.headersSent) return;
    this.headersSent = true;
    if (end) this.localEnded = true;
    this.host.sendHeaders(this, block, end);
    if (end) this.afterLocalEnd();
  }

  /** Queues a DATA payload; false when it could not all go to the connection at once (onDrain follows). */
  write(data: Buffer): boolean {
    if (this.isClosed || this.localEnded) return false;
    this.outbox.push(data);
    this.outboxBytes += data.length;
    this.host.pump(this);
    if (this.outboxBytes === 0) return true;
    this.needDrain = true;
    return false;
  }

  /** write() of a payload, which is written in place when it can go at once (no buffer of its own). */
  writePayload(p: Payload): boolean {
    if (this.isClosed || this.localEnded) return false;
    if (this.outboxBytes === 0 && this.host.sendInPlace(this, p)) return true;
    const b = Buffer.allocUnsafe(p.length);
    p.writeTo(b, 0);
    return this.write(b);
  }

  /** Ends the response with trailers, after the queued DATA. */
  end(trailers: Buffer): void {
    if (this.isClosed || this.localEnded) return;
    this.localEnded = true;
    this.trailers = trailers;
    this.host.pump(this);
  }

  /** Called by the connection when the outbox emptied. */
  drained(): void {
    if (this.needDrain && this.outboxBytes === 0 && !this.isClosed) {
      this.needDrain = false;
      this.onDrain?.();
    }
  }

  /**
   * The response's last frame (END_STREAM) is on the connection. A client that has not ended its side is told the
   * stream is over (RST_STREAM NO_ERROR, as grpc-go's finishStream does), so a stream it never half-closes does not
   * stay open.
   */
  afterLocalEnd(): void {
    if (this.isClosed) return;
    if (!this.remoteEnded) this.reset(ErrorCode.NO_ERROR);
    else this.closeIfDone();
  }

  /** RST_STREAM to the client; the stream is closed. */
  reset(code: number): void {
    if (this.isClosed) return;
    this.host.sendReset(this, code);
    this.close();
  }

  private closeIfDone(): void {
    if (this.remoteEnded && this.localEnded && this.trailers === undefined && this.outboxBytes === 0 && !this.endPending && this.headersSent) this.close();
  }

  private close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.outbox.length = 0;
    this.outboxBytes = 0;
    this.trailers = undefined;
    this.held = undefined;
    this.host.forget(this);
    const f = this.onClose;
    this.onClose = undefined;
    this.onData = undefined;
    this.onEnd = undefined;
    this.onDrain = undefined;
    f?.();
  }
}
