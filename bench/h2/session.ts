/**
 * One HTTP/2 client connection over cleartext TCP (h2c with prior knowledge, as gRPC uses it), written for a
 * load generator: a request is one HEADERS frame and its DATA frames built into one buffer, the frames of
 * every request started in one turn of the event loop leave in one socket write, and frames are read
 * without copying. It keeps to the protocol a server relies on: SETTINGS (acknowledged, applied), flow
 * control both ways, SETTINGS_MAX_CONCURRENT_STREAMS (requests beyond it wait), MAX_FRAME_SIZE, PING, GOAWAY,
 * RST_STREAM, CONTINUATION, padding. It does not do server push (disabled in its SETTINGS) or priorities. With
 * `tls` it connects over TLS with ALPN h2 (as gRPC does over https), presenting the given client certificate.
 *
 * Streams are reported to a StreamHandler; the gRPC meaning of what arrives is bench/h2/grpc-call.ts's.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  Flag,
  FrameReader,
  FrameSizeError,
  FrameType,
  FRAME_HEADER_BYTES,
  goawayFrame,
  H2Error,
  MAX_WINDOW,
  PREFACE,
  rstStreamFrame,
  Setting,
  settingsFrame,
  unpad,
  windowUpdateFrame,
  writeFrameHeader,
  type Frame,
} from "./frames.js";

export interface StreamHandler {
  /** A complete header block (HEADERS + CONTINUATION), still HPACK-encoded. */
  onHeaders(block: Buffer, endStream: boolean): void;
  /** DATA payload without padding: a view, valid during the call only. */
  onData(data: Buffer, endStream: boolean): void;
  /** The server reset the stream (RST_STREAM error code). */
  onReset(code: number): void;
  /** The connection ended before the stream did. */
  onClosed(reason: string): void;
}

/** What the client announces: no push, no dynamic HPACK table (see hpack.ts), large receive windows and frames. */
const OUR_WINDOW = 1 << 24;
const OUR_MAX_FRAME = 1 << 20;
const CONN_WINDOW = 1 << 30;
const OUR_SETTINGS = settingsFrame([
  [Setting.HEADER_TABLE_SIZE, 0],
  [Setting.ENABLE_PUSH, 0],
  [Setting.INITIAL_WINDOW_SIZE, OUR_WINDOW],
  [Setting.MAX_FRAME_SIZE, OUR_MAX_FRAME],
]);
const MAX_STREAM_ID = 0x7fff_ffff;

interface Stream {
  id: number;
  handler: StreamHandler;
  /** Request body bytes not yet sent (flow control), null when all are out. */
  body: Buffer | null;
  sendWindow: number;
  /** Received DATA bytes not yet given back with a WINDOW_UPDATE. */
  unacked: number;
}

interface Queued {
  headerBlock: Buffer;
  body: Buffer;
  handler: StreamHandler;
}

export interface SessionOptions {
  host: string;
  port: number;
  /** Connect + server SETTINGS within this time, or fail. */
  connectTimeoutMs: number;
  /** Told once when the session can take no more streams (GOAWAY, closed socket, ids used up). */
  onGone?: (reason: string) => void;
  /** TLS: the CA the server's certificate must chain to, and the client certificate and key (PEM). */
  tls?: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer };
}

export class H2Session {
  private readonly streams = new Map<number, Stream>();
  private readonly waiting: Queued[] = [];
  private readonly blocked: Stream[] = [];
  private nextId = 1;
  private out: Buffer[] = [];
  private flushScheduled = false;
  private peerMaxStreams = Infinity;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private connSendWindow = DEFAULT_WINDOW;
  private connUnacked = 0;
  /** Header block of a HEADERS frame waiting for its CONTINUATION frames. */
  private partial: { streamId: number; parts: Buffer[]; endStream: boolean } | null = null;
  private goneReason: string | null = null;
  private readonly reader = new FrameReader(OUR_MAX_FRAME, (f) => this.onFrame(f));

  private constructor(
    private readonly socket: net.Socket,
    private readonly opts: SessionOptions,
  ) {}

  /** Connects, sends the preface and SETTINGS, and resolves once the server's SETTINGS arrived. */
  static connect(opts: SessionOptions): Promise<H2Session> {
    return new Promise((resolve, reject) => {
      const t = opts.tls;
      const socket = t
        ? tls.connect({ host: opts.host, port: opts.port, ALPNProtocols: ["h2"], ca: t.ca, cert: t.cert, key: t.key, ...(net.isIP(opts.host) ? {} : { servername: opts.host }) })
        : net.connect({ host: opts.host, port: opts.port, noDelay: true });
      socket.setNoDelay(true);
      const s = new H2Session(socket, opts);
      const timer = setTimeout(() => fail(new Error(`connect ${opts.host}:${opts.port}: no HTTP/2 SETTINGS within ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
      const fail = (e: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      socket.once("error", fail);
      socket.once("close", () => fail(new Error(`connect ${opts.host}:${opts.port}: closed before the server's SETTINGS`)));
      socket.once(t ? "secureConnect" : "connect", () => {
        if (t && (socket as tls.TLSSocket).alpnProtocol !== "h2") {
          fail(new Error(`connect ${opts.host}:${opts.port}: the server did not agree to ALPN h2 (got ${String((socket as tls.TLSSocket).alpnProtocol)})`));
          return;
        }
        socket.write(Buffer.concat([PREFACE, OUR_SETTINGS, windowUpdateFrame(0, CONN_WINDOW - DEFAULT_WINDOW)]));
      });
      s.onSettingsOnce = () => {
        clearTimeout(timer);
        socket.removeAllListeners("error").removeAllListeners("close");
        socket.on("error", (e) => s.fail(`connection error: ${e.message}`));
        socket.on("close", () => s.fail("connection closed"));
        resolve(s);
      };
      socket.on("data", (chunk: Buffer) => s.onBytes(chunk));
    });
  }

  private onSettingsOnce: (() => void) | null = null;

  /** True while new streams can be started. */
  get usable(): boolean {
    return this.goneReason === null;
  }

  get activeStreams(): number {
    return this.streams.size + this.waiting.length;
  }

  /**
   * Starts a request: HEADERS with `headerBlock`, then `body` as DATA with END_STREAM. The body is copied before
   * this returns (the caller may reuse its buffer). Waits for a stream slot if the server's limit is reached.
   */
  request(headerBlock: Buffer, body: Buffer, handler: StreamHandler): void {
    if (this.goneReason !== null) {
      handler.onClosed(this.goneReason);
      return;
    }
    if (this.streams.size >= this.peerMaxStreams) {
      this.waiting.push({ headerBlock, body: Buffer.from(body), handler });
      return;
    }
    this.open(headerBlock, body, handler);
  }

  /** Abandons a stream (deadline, caller gave up): RST_STREAM CANCEL; nothing more is reported for it. */
  cancel(handler: StreamHandler): void {
    for (const [id, st] of this.streams) {
      if (st.handler !== handler) continue;
      this.streams.delete(id);
      this.write(rstStreamFrame(id, H2Error.CANCEL));
      this.startWaiting();
      return;
    }
    const i = this.waiting.findIndex((q) => q.handler === handler);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** Ends the session: GOAWAY, then the socket; open streams are told. */
  close(): void {
    if (!this.socket.destroyed) this.socket.end(goawayFrame(0, H2Error.NO_ERROR));
    this.fail("session closed by the client");
  }

  private open(headerBlock: Buffer, body: Buffer, handler: StreamHandler): void {
    const id = this.nextId;
    this.nextId += 2;
    const st: Stream = { id, handler, body: null, sendWindow: this.peerInitialWindow, unacked: 0 };
    this.streams.set(id, st);
    const sendNow = Math.min(body.length, this.connSendWindow, st.sendWindow, this.peerMaxFrame);
    const whole = sendNow === body.length;
    // HEADERS and the first DATA frame in one buffer: one allocation and one copy of the body per request.
    const b = Buffer.allocUnsafe(2 * FRAME_HEADER_BYTES + headerBlock.length + sendNow);
    writeFrameHeader(b, 0, headerBlock.length, FrameType.HEADERS, Flag.END_HEADERS, id);
    headerBlock.copy(b, FRAME_HEADER_BYTES);
    const d = FRAME_HEADER_BYTES + headerBlock.length;
    writeFrameHeader(b, d, sendNow, FrameType.DATA, whole ? Flag.END_STREAM : 0, id);
    body.copy(b, d + FRAME_HEADER_BYTES, 0, sendNow);
    this.connSendWindow -= sendNow;
    st.sendWindow -= sendNow;
    this.write(b);
    if (!whole) {
      st.body = Buffer.from(body.subarray(sendNow));
      this.blocked.push(st);
      this.sendBlocked();
    }
    if (id + 2 > MAX_STREAM_ID) this.gone("stream ids used up");
  }

  /** Sends what flow control allows of the bodies still waiting, oldest first. */
  private sendBlocked(): void {
    while (this.blocked.length && this.connSendWindow > 0) {
      const st = this.blocked[0]!;
      if (!this.streams.has(st.id) || !st.body) {
        this.blocked.shift();
        continue;
      }
      const n = Math.min(st.body.length, this.connSendWindow, st.sendWindow, this.peerMaxFrame);
      if (n <= 0) return;
      const last = n === st.body.length;
      const b = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n);
      writeFrameHeader(b, 0, n, FrameType.DATA, last ? Flag.END_STREAM : 0, st.id);
      st.body.copy(b, FRAME_HEADER_BYTES, 0, n);
      this.write(b);
      this.connSendWindow -= n;
      st.sendWindow -= n;
      st.body = last ? null : st.body.subarray(n);
      if (last) this.blocked.shift();
    }
  }

  private write(b: Buffer): void {
    this.out.push(b);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    this.out = [];
    if (this.socket.destroyed || !out.length) return;
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  private onBytes(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
    } catch (e) {
      this.protocolError(e instanceof FrameSizeError ? H2Error.FRAME_SIZE_ERROR : H2Error.PROTOCOL_ERROR, (e as Error).message);
      return;
    }
    if (this.connUnacked >= CONN_WINDOW / 4) {
      this.write(windowUpdateFrame(0, this.connUnacked));
      this.connUnacked = 0;
    }
  }

  private onFrame(f: Frame): void {
    if (this.partial && f.type !== FrameType.CONTINUATION) throw new Error("frame interleaved in a header block");
    switch (f.type) {
      case FrameType.DATA:
        return this.onDataFrame(f);
      case FrameType.HEADERS:
        return this.onHeadersFrame(f);
      case FrameType.CONTINUATION:
        return this.onContinuation(f);
      case FrameType.RST_STREAM:
        return this.onRstStream(f);
      case FrameType.SETTINGS:
        return this.onSettings(f);
      case FrameType.PING:
        if (f.payload.length !== 8) throw new FrameSizeError("PING payload not 8 bytes");
        if (!(f.flags & Flag.ACK)) this.write(Buffer.concat([Buffer.from([0, 0, 8, FrameType.PING, Flag.ACK, 0, 0, 0, 0]), f.payload]));
        return;
      case FrameType.GOAWAY:
        return this.onGoaway(f);
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(f);
      case FrameType.PUSH_PROMISE:
        throw new Error("PUSH_PROMISE received although SETTINGS_ENABLE_PUSH is 0");
      default:
        return; // PRIORITY and unknown types are ignored (RFC 7540 §4.1)
    }
  }

  private onDataFrame(f: Frame): void {
    this.connUnacked += f.payload.length;
    const st = this.streams.get(f.streamId);
    if (!st) return; // a stream we cancelled: its bytes still count for the connection window (above)
    st.unacked += f.payload.length;
    const end = (f.flags & Flag.END_STREAM) !== 0;
    if (end) this.finish(st);
    else if (st.unacked >= OUR_WINDOW / 2) {
      this.write(windowUpdateFrame(st.id, st.unacked));
      st.unacked = 0;
    }
    st.handler.onData(unpad(f, false), end);
  }

  private onHeadersFrame(f: Frame): void {
    const block = unpad(f, true);
    const endStream = (f.flags & Flag.END_STREAM) !== 0;
    if (f.flags & Flag.END_HEADERS) this.deliverHeaders(f.streamId, block, endStream);
    else this.partial = { streamId: f.streamId, parts: [Buffer.from(block)], endStream };
  }

  private onContinuation(f: Frame): void {
    const p = this.partial;
    if (!p || p.streamId !== f.streamId) throw new Error("CONTINUATION without a header block in progress");
    p.parts.push(Buffer.from(f.payload));
    if (f.flags & Flag.END_HEADERS) {
      this.partial = null;
      this.deliverHeaders(p.streamId, Buffer.concat(p.parts), p.endStream);
    }
  }

  private deliverHeaders(id: number, block: Buffer, endStream: boolean): void {
    const st = this.streams.get(id);
    if (!st) return;
    if (endStream) this.finish(st);
    st.handler.onHeaders(block, endStream);
  }

  private onRstStream(f: Frame): void {
    const st = this.streams.get(f.streamId);
    if (!st) return;
    this.finish(st);
    st.handler.onReset(f.payload.length >= 4 ? f.payload.readUInt32BE(0) : H2Error.PROTOCOL_ERROR);
  }

  private onSettings(f: Frame): void {
    if (f.flags & Flag.ACK) return;
    if (f.payload.length % 6 !== 0) throw new FrameSizeError("SETTINGS payload not a multiple of 6");
    for (let o = 0; o < f.payload.length; o += 6) {
      const id = f.payload.readUInt16BE(o);
      const v = f.payload.readUInt32BE(o + 2);
      if (id === Setting.MAX_CONCURRENT_STREAMS) this.peerMaxStreams = v;
      else if (id === Setting.MAX_FRAME_SIZE) this.peerMaxFrame = v;
      else if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (v > MAX_WINDOW) throw new Error("SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1");
        for (const st of this.streams.values()) st.sendWindow += v - this.peerInitialWindow;
        this.peerInitialWindow = v;
      }
    }
    this.write(Buffer.from([0, 0, 0, FrameType.SETTINGS, Flag.ACK, 0, 0, 0, 0]));
    this.sendBlocked();
    this.startWaiting();
    const first = this.onSettingsOnce;
    this.onSettingsOnce = null;
    first?.();
  }

  private onGoaway(f: Frame): void {
    const last = f.payload.readUInt32BE(0) & 0x7fff_ffff;
    const code = f.payload.readUInt32BE(4);
    const reason = `GOAWAY (code ${code}${f.payload.length > 8 ? `: ${f.payload.subarray(8).toString("utf8").slice(0, 80)}` : ""})`;
    // Streams above last-stream-id were not processed: they fail now; the others may still complete.
    for (const [id, st] of this.streams) {
      if (id <= last) continue;
      this.streams.delete(id);
      st.handler.onClosed(reason);
    }
    this.gone(reason);
    if (this.streams.size === 0) this.socket.end();
  }

  private onWindowUpdate(f: Frame): void {
    const inc = f.payload.readUInt32BE(0) & 0x7fff_ffff;
    if (f.streamId === 0) this.connSendWindow += inc;
    else {
      const st = this.streams.get(f.streamId);
      if (st) st.sendWindow += inc;
    }
    this.sendBlocked();
  }

  /** The stream is over on our side (END_STREAM or RST_STREAM received): free its slot. */
  private finish(st: Stream): void {
    this.streams.delete(st.id);
    this.startWaiting();
    if (this.goneReason !== null && this.streams.size === 0) this.socket.end();
  }

  private startWaiting(): void {
    while (this.waiting.length && this.streams.size < this.peerMaxStreams && this.goneReason === null) {
      const q = this.waiting.shift()!;
      this.open(q.headerBlock, q.body, q.handler);
    }
  }

  /** No new streams from now on; open ones may still complete. */
  private gone(reason: string): void {
    if (this.goneReason !== null) return;
    this.goneReason = reason;
    for (const q of this.waiting.splice(0)) q.handler.onClosed(reason);
    this.opts.onGone?.(reason);
  }

  private protocolError(code: H2Error, message: string): void {
    this.write(goawayFrame(this.nextId - 2 > 0 ? this.nextId - 2 : 0, code));
    this.flush();
    this.fail(`protocol error: ${message}`);
  }

  /** The connection is over: every stream is told, the socket destroyed. */
  private fail(reason: string): void {
    this.gone(reason);
    const open = [...this.streams.values()];
    this.streams.clear();
    this.blocked.length = 0;
    for (const st of open) st.handler.onClosed(reason);
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
