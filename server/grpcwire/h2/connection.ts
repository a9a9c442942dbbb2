import type { IncomingHttpHeaders } from "node:http2";
import type { Duplex } from "node:stream";
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  FRAME_HEADER_LENGTH,
  FrameError,
  FrameSizeError,
  FrameSplitter,
  FrameType,
  HeaderBlockAssembler,
  MAX_ALLOWED_FRAME_SIZE,
  MAX_WINDOW,
  Setting,
  encodeHeaderBlock,
  frameHeader,
  goawayFrame,
  pingFrame,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
  type Frame,
  type HeaderBlock,
} from "./frames.js";
import { FrameWriter } from "./frame-writer.js";
import { HpackError, HpackTable } from "./hpack.js";
import { requestHeaders } from "./request-headers.js";
import { H2Stream, type Payload, type StreamHost } from "./stream.js";

export interface H2ConnectionOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: more open streams are refused (RST_STREAM REFUSED_STREAM). */
  readonly maxConcurrentStreams: number;
  /** A request whose header fields (RFC 7541 sizes: name + value + 32 each) exceed this is reset. */
  readonly maxHeaderListBytes?: number;
  /** A new request stream, its headers checked (RFC 9113 §8.3). */
  readonly onStream: (stream: H2Stream, headers: IncomingHttpHeaders) => void;
}

/** The connection window the server keeps open: credited back on receipt, since every stream's own window bounds what it holds. */
const CONNECTION_WINDOW = 1 << 20;
/** A header block (HEADERS + CONTINUATION, still compressed) larger than this ends the connection. */
const MAX_HEADER_BLOCK_BYTES = 256 * 1024;
const DEFAULT_MAX_HEADER_LIST_BYTES = 64 * 1024;

/** A connection error (RFC 9113 §5.4.1): GOAWAY with this code, then the connection closes. */
class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

type ConnectionEvent = "streamOpen" | "streamClose" | "close";

/**
 * The server's side of one HTTP/2 connection (RFC 9113), on any Duplex: the plaintext socket, or the TLS socket after
 * ALPN h2. It reads frames, keeps the client's HPACK table, enforces the protocol (stream ids and states, frame sizes,
 * flow control both ways, SETTINGS, CONTINUATION), and hands each request stream to onStream.
 *
 * Why not Node's http2 (nghttp2): every unary answer left in two writes, the trailers a loop turn or two after the
 * DATA, and every frame crossed from C++ to JavaScript on its own. Here every frame produced while one event is
 * handled goes out in one socket write (FrameWriter).
 */
export class H2Connection implements StreamHost {
  private readonly streams = new Map<number, H2Stream>();
  private readonly splitter = new FrameSplitter(DEFAULT_MAX_FRAME_SIZE);
  private readonly blocks = new HeaderBlockAssembler(MAX_HEADER_BLOCK_BYTES);
  private readonly table = new HpackTable();
  private readonly listeners: Record<ConnectionEvent, Array<() => void>> = { streamOpen: [], streamClose: [], close: [] };
  private prefaceLeft: Buffer | undefined = CLIENT_PREFACE;
  private sawSettings = false;
  private lastStreamId = 0;
  /** Streams opened by the client and still open on the server. */
  private open = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  private sendWindow = DEFAULT_WINDOW;
  private recvWindow = CONNECTION_WINDOW;
  private uncredited = 0;
  /** Streams with DATA waiting for the connection window or socket room. */
  private readonly blocked = new Set<H2Stream>();
  private readonly pings = new Map<bigint, (err: Error | null) => void>();
  private pingSeq = 0n;
  private goawaySent = false;
  private ended = false;
  private isDestroyed = false;
  /** The server has sent HEADERS or DATA since the client's last PING (keepalive enforcement's question). */
  private wroteResponse = false;
  private readonly maxHeaderListBytes: number;
  private readonly writer: FrameWriter;

  /** Client PINGs (not ACKs): told whether the server sent a response since the previous one. */
  onClientPing: ((wroteResponseSinceLastPing: boolean) => void) | undefined;
  /** The client's first SETTINGS arrived: the HTTP/2 handshake is done. */
  onClientSettings: (() => void) | undefined;

  constructor(
    readonly socket: Duplex,
    private readonly opts: H2ConnectionOptions,
  ) {
    this.maxHeaderListBytes = opts.maxHeaderListBytes ?? DEFAULT_MAX_HEADER_LIST_BYTES;
    this.writer = new FrameWriter(socket, () => this.pumpBlocked());
    this.writer.queue(settingsFrame([[Setting.MAX_CONCURRENT_STREAMS, Math.min(opts.maxConcurrentStreams, 0xffff_ffff)], [Setting.MAX_HEADER_LIST_SIZE, this.maxHeaderListBytes]]));
    this.writer.queue(windowUpdateFrame(0, CONNECTION_WINDOW - DEFAULT_WINDOW));
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", () => this.destroy());
    socket.on("close", () => this.destroy());
    socket.on("end", () => this.destroy());
  }

  /** Bytes the client sent before the connection was handed over (the preface, maybe more). */
  feed(head: Buffer): void {
    if (head.length > 0) this.receive(head);
  }

  on(event: ConnectionEvent, f: () => void): void {
    this.listeners[event].push(f);
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /** Sends a PING; cb runs with null when the client answers, with an error if the connection closes first. */
  ping(cb: (err: Error | null) => void): boolean {
    if (this.isDestroyed || this.ended) return false;
    const seq = ++this.pingSeq;
    const payload = Buffer.allocUnsafe(8);
    payload.writeBigUInt64BE(seq);
    this.pings.set(seq, cb);
    this.writer.queue(pingFrame(payload, false));
    return true;
  }

  /** Graceful close (GOAWAY NO_ERROR): no new streams; the connection ends once the open ones are done. */
  close(): void {
    this.goaway(ErrorCode.NO_ERROR);
    this.endIfIdle();
  }

  /** GOAWAY with a code and debug data, then the connection ends once it is written (too_many_pings, a protocol error). */
  fail(code: number, debug?: string): void {
    this.goaway(code, debug);
    this.end();
  }

  /** Closes now: every open stream is reset (its call cancelled). */
  destroy(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    this.writer.discard();
    for (const s of [...this.streams.values()]) s.receiveReset();
    this.streams.clear();
    this.blocked.clear();
    const err = new Error("connection closed");
    for (const cb of this.pings.values()) cb(err);
    this.pings.clear();
    if (!this.socket.destroyed) this.socket.destroy();
    for (const f of this.listeners.close) f();
  }

  // ---- reading

  private receive(chunk: Buffer): void {
    if (this.isDestroyed || this.ended) return;
    try {
      if (this.prefaceLeft) {
        const n = Math.min(this.prefaceLeft.length, chunk.length);
        if (!chunk.subarray(0, n).equals(this.prefaceLeft.subarray(0, n))) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad connection preface");
        this.prefaceLeft = n === this.prefaceLeft.length ? undefined : this.prefaceLeft.subarray(n);
        chunk = chunk.subarray(n);
        if (chunk.length === 0) return;
      }
      for (const f of this.splitter.push(chunk)) {
        this.onFrame(f);
        if (this.isDestroyed || this.ended) return;
      }
    } catch (e) {
      if (e instanceof ConnectionError) return this.fail(e.code, e.message);
      if (e instanceof FrameError) return this.fail(e instanceof FrameSizeError ? ErrorCode.FRAME_SIZE_ERROR : ErrorCode.PROTOCOL_ERROR, e.message);
      if (e instanceof HpackError) return this.fail(ErrorCode.COMPRESSION_ERROR, e.message);
      throw e;
    }
  }

  private onFrame(f: Frame): void {
    if (!this.sawSettings && (f.type !== FrameType.SETTINGS || (f.flags & Flag.ACK) !== 0)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "the client's first frame must be SETTINGS");
    const block = this.blocks.accept(f); // throws FrameError for a frame inside a header block
    if (block === "partial") return;
    if (block !== "other") return this.onHeaderBlock(block);
    switch (f.type) {
      case FrameType.DATA:
        return this.onData(f);
      case FrameType.PRIORITY:
        if (f.streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (f.payload.length !== 5) this.resetStream(f.streamId, ErrorCode.FRAME_SIZE_ERROR);
        return;
      case FrameType.RST_STREAM:
        return this.onReset(f);
      case FrameType.SETTINGS:
        return this.onSettings(f);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case FrameType.PING:
        return this.onPing(f);
      case FrameType.GOAWAY:
        if (f.streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
        if (f.payload.length < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY shorter than 8 bytes");
        this.goaway(ErrorCode.NO_ERROR);
        return this.endIfIdle();
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(f);
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  private onSettings(f: Frame): void {
    if (f.streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (f.flags & Flag.ACK) {
      if (f.payload.length !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      return;
    }
    if (f.payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6");
    for (let at = 0; at < f.payload.length; at += 6) {
      const id = f.payload.readUInt16BE(at);
      const value = f.payload.readUInt32BE(at + 2);
      if (id === Setting.ENABLE_PUSH && value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "ENABLE_PUSH not 0 or 1");
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE over 2^31-1");
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "a stream window over 2^31-1");
        }
      }
      if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "MAX_FRAME_SIZE out of range");
        this.peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE bounds the table our encoder may use: it uses none. MAX_CONCURRENT_STREAMS: the server opens none.
    }
    this.writer.queue(frameHeader(0, FrameType.SETTINGS, Flag.ACK, 0));
    if (!this.sawSettings) {
      this.sawSettings = true;
      this.onClientSettings?.();
    }
    for (const s of this.streams.values()) if (s.outboxBytes > 0 || s.trailers) this.pump(s);
  }

  private onPing(f: Frame): void {
    if (f.streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
    if (f.payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PING not 8 bytes");
    if (f.flags & Flag.ACK) {
      const seq = f.payload.readBigUInt64BE(0);
      const cb = this.pings.get(seq);
      if (cb) {
        this.pings.delete(seq);
        cb(null);
      }
      return;
    }
    const wrote = this.wroteResponse;
    this.wroteResponse = false;
    this.writer.queueAck(pingFrame(Buffer.from(f.payload), true));
    this.onClientPing?.(wrote);
  }

  private onWindowUpdate(f: Frame): void {
    if (f.payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE not 4 bytes");
    const inc = f.payload.readUInt32BE(0) & 0x7fffffff;
    if (f.streamId === 0) {
      if (inc === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window over 2^31-1");
      return this.pumpBlocked();
    }
    const s = this.streams.get(f.streamId);
    if (!s) {
      if (f.streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
      return; // a stream already closed: frames in flight are ignored
    }
    if (inc === 0) return s.reset(ErrorCode.PROTOCOL_ERROR);
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) return s.reset(ErrorCode.FLOW_CONTROL_ERROR);
    this.pump(s);
  }

  private onReset(f: Frame): void {
    if (f.streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (f.payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM not 4 bytes");
    if (f.streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on an idle stream");
    this.streams.get(f.streamId)?.receiveReset();
  }

  private onData(f: Frame): void {
    if (f.streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    if (f.streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on an idle stream");
    const flow = f.payload.length;
    if (flow > this.recvWindow) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    this.recvWindow -= flow;
    this.creditConnection(flow);
    let data = f.payload;
    if (f.flags & Flag.PADDED) {
      if (flow < 1 || f.payload[0]! >= flow) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA padding longer than the frame");
      data = f.payload.subarray(1, flow - f.payload[0]!);
    }
    const s = this.streams.get(f.streamId);
    if (!s) return; // closed: in flight after a reset, or refused
    if (s.remoteDone) return s.reset(ErrorCode.STREAM_CLOSED);
    if (flow > s.recvWindow) return s.reset(ErrorCode.FLOW_CONTROL_ERROR);
    s.recvWindow -= flow;
    s.receive(data, flow, (f.flags & Flag.END_STREAM) !== 0);
  }

  private creditConnection(bytes: number): void {
    this.uncredited += bytes;
    if (this.uncredited >= CONNECTION_WINDOW >> 2) {
      this.recvWindow += this.uncredited;
      this.writer.queue(windowUpdateFrame(0, this.uncredited));
      this.uncredited = 0;
    }
  }

  private onHeaderBlock(b: HeaderBlock): void {
    const id = b.streamId;
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
    if (b.priority && (b.priority.readUInt32BE(0) & 0x7fffffff) === id) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "a stream depending on itself");
    // decoded whatever happens next: the client's table changes with every block
    const decoded = requestHeaders(b.block, this.table, this.maxHeaderListBytes);
    const existing = this.streams.get(id);
    if (existing) {
      // trailers: END_STREAM and no pseudo-header fields (RFC 9113 §8.1)
      if (existing.remoteDone) return existing.reset(ErrorCode.STREAM_CLOSED);
      if (!(b.flags & Flag.END_STREAM) || decoded.hasPseudo) return existing.reset(ErrorCode.PROTOCOL_ERROR);
      return existing.receiveEnd();
    }
    if (id <= this.lastStreamId) return; // a closed stream: ignored (in flight after a reset)
    if ((id & 1) === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "a client stream with an even id");
    this.lastStreamId = id;
    if (this.goawaySent) return; // after GOAWAY no new stream is served (its id is past the last one we named)
    if (this.open >= this.opts.maxConcurrentStreams) {
      this.writer.queue(rstStreamFrame(id, ErrorCode.REFUSED_STREAM));
      return;
    }
    if (typeof decoded.headers === "string") {
      this.writer.queue(rstStreamFrame(id, ErrorCode.PROTOCOL_ERROR));
      return;
    }
    const ended = (b.flags & Flag.END_STREAM) !== 0;
    const s = new H2Stream(id, this, this.peerInitialWindow, ended);
    this.streams.set(id, s);
    this.open++;
    for (const f of this.listeners.streamOpen) f();
    this.opts.onStream(s, decoded.headers);
    if (ended && !s.closed) s.receiveEnd();
  }

  private resetStream(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s) s.reset(code);
    else if (id <= this.lastStreamId) return;
    else this.writer.queue(rstStreamFrame(id, code));
  }

  // ---- StreamHost: what streams ask of the connection

  sendHeaders(stream: H2Stream, block: Buffer, end: boolean): void {
    this.wroteResponse = true;
    this.writer.queue(encodeHeaderBlock(stream.id, end ? Flag.END_STREAM : 0, undefined, block, this.peerMaxFrame));
  }

  sendInPlace(s: H2Stream, p: Payload): boolean {
    const n = p.length;
    if (this.isDestroyed || s.closed || n > s.sendWindow || n > this.sendWindow || n > this.peerMaxFrame || this.writer.backedUp) return false;
    s.sendWindow -= n;
    this.sendWindow -= n;
    this.wroteResponse = true;
    const at = this.writer.reserve(FRAME_HEADER_LENGTH + n);
    if (at < 0) return true; // the connection is ending: dropped, as queued frames are
    const buf = this.writer.buffer;
    writeFrameHeader(buf, at, n, FrameType.DATA, 0, s.id);
    p.writeTo(buf, at + FRAME_HEADER_LENGTH);
    return true;
  }

  pump(s: H2Stream): void {
    if (this.isDestroyed || s.closed) return;
    while (s.outbox.length > 0) {
      const room = Math.min(s.sendWindow, this.sendWindow, this.peerMaxFrame);
      if (room <= 0 || this.writer.backedUp) {
        this.blocked.add(s);
        return;
      }
      const head = s.outbox[0]!;
      const n = Math.min(room, head.length);
      const piece = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) s.outbox.shift();
      else s.outbox[0] = head.subarray(n);
      s.outboxBytes -= n;
      s.sendWindow -= n;
      this.sendWindow -= n;
      this.wroteResponse = true;
      this.writer.queue(frameHeader(n, FrameType.DATA, 0, s.id));
      if (n > 0) this.writer.queue(piece);
    }
    this.blocked.delete(s);
    const trailers = s.trailers;
    if (trailers) {
      s.trailers = undefined;
      this.writer.queue(encodeHeaderBlock(s.id, Flag.END_STREAM, undefined, trailers, this.peerMaxFrame));
      s.afterLocalEnd();
      return;
    }
    s.drained();
  }

  sendReset(s: H2Stream, code: number): void {
    if (!this.isDestroyed) this.writer.queue(rstStreamFrame(s.id, code));
  }

  credit(s: H2Stream, bytes: number): void {
    this.writer.queue(windowUpdateFrame(s.id, bytes));
  }

  forget(s: H2Stream): void {
    if (this.streams.get(s.id) !== s) return;
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.open--;
    for (const f of this.listeners.streamClose) f();
    this.endIfIdle();
  }

  // ---- writing

  private pumpBlocked(): void {
    for (const s of [...this.blocked]) {
      this.pump(s);
      if (this.writer.backedUp || this.sendWindow <= 0) return;
    }
  }

  private goaway(code: number, debug?: string): void {
    if (this.goawaySent || this.isDestroyed) return;
    this.goawaySent = true;
    this.writer.queue(goawayFrame(this.lastStreamId, code, debug ? Buffer.from(debug) : undefined));
  }

  private endIfIdle(): void {
    if (this.goawaySent && this.open === 0) this.end();
  }

  /** Writes what is queued, then ends the socket; destroys it if the client does not close its side soon. */
  private end(): void {
    if (this.ended || this.isDestroyed) return;
    this.ended = true;
    this.writer.finish();
    this.socket.end();
    const t = setTimeout(() => this.destroy(), 1000);
    t.unref();
  }
}
