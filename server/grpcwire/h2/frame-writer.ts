import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { trace, TRACING } from "../../util/latency-trace.js";

/** Stop sending DATA, and reading, while the socket holds this much not yet written. */
const SOCKET_HIGH_WATER = 1 << 20;

/** How long a PING's ACK may wait for a response to leave with (ms). */
const ACK_WAIT_MS = 5;

/**
 * The buffer frames are written into in place (reserve) starts this small, so a connection that writes little holds
 * little, and doubles each time one event's frames fill it, up to CHUNK_MAX (a few max-size DATA frames).
 */
const CHUNK_MIN = 4 * 1024;
const CHUNK_MAX = 64 * 1024;

/**
 * A connection's outgoing bytes. Every frame queued while one event is handled leaves in one socket write at the end
 * of that event (a microtask): a unary answer's HEADERS, DATA and trailers together, and the answers of one apply
 * batch together. While the socket holds more than SOCKET_HIGH_WATER not yet written, `backedUp` says so (no more
 * DATA is queued) and the socket is not read: a client that does not read its answers is not read either, so its
 * requests wait in TCP rather than in memory. `onRoom` runs when the socket drained.
 *
 * A frame can also be written in place (`reserve`): into a chunk the writer keeps, so a stream's many small messages
 * (a watch fan-out) cost no buffer each and no copy into the write. Bytes of the chunk handed to the socket are never
 * written again while the socket may hold them: the chunk is reused from its start only when a write took everything
 * at once (nothing left in the socket), and is otherwise left to the socket and replaced.
 */
export class FrameWriter {
  private out: Buffer[] = [];
  private outBytes = 0;
  /** The in-place buffer: chunk[sealed, used) is reserved and not yet in `out`; chunk[used, end) is free. */
  private chunk: Buffer | undefined;
  private sealed = 0;
  private used = 0;
  private flushQueued = false;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readPaused = false;
  private readonly nativeSocket: boolean;

  constructor(
    private readonly socket: Duplex,
    private readonly onRoom: () => void,
  ) {
    this.nativeSocket = socket instanceof Socket;
    socket.on("drain", () => {
      if (this.readPaused) {
        this.readPaused = false;
        socket.resume();
      }
      this.onRoom();
    });
  }

  queue(b: Buffer): void {
    if (this.closed) return;
    this.seal();
    this.out.push(b);
    this.outBytes += b.length;
    this.flushSoon();
  }

  /**
   * Room for n bytes in the write (after everything queued so far): their offset in `buffer`, where the caller
   * writes them now, before anything else is queued. -1 when the writer is closed (then nothing is written).
   */
  reserve(n: number): number {
    if (this.closed) return -1;
    let c = this.chunk;
    if (c === undefined || c.length - this.used < n) {
      this.seal();
      const grown = c === undefined ? CHUNK_MIN : Math.min(CHUNK_MAX, c.length * 2);
      c = this.chunk = Buffer.allocUnsafeSlow(Math.max(grown, n));
      this.sealed = this.used = 0;
    }
    const at = this.used;
    this.used += n;
    this.outBytes += n;
    this.flushSoon();
    return at;
  }

  /** The buffer `reserve` gave an offset in. */
  get buffer(): Buffer {
    return this.chunk!;
  }

  private flushSoon(): void {
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  /** What was reserved in the chunk joins `out`, in order. */
  private seal(): void {
    if (this.used === this.sealed) return;
    this.out.push(this.chunk!.subarray(this.sealed, this.used));
    this.sealed = this.used;
  }

  /**
   * Queues a PING's ACK without a write of its own: it leaves with the next frames queued, or after ACK_WAIT_MS.
   * grpc-go clients (etcd's clientv3) send a PING with most requests (their window estimator's); written at once,
   * its ACK was a socket write of its own before the request was even handled (~50 µs on the put's path).
   * RFC 9113 §6.7 asks that ACKs go before other frames (SHOULD): in the shared write it does, being queued first;
   * a few ms is nothing to keepalive (seconds) and only lengthens the estimator's round-trip sample.
   */
  queueAck(b: Buffer): void {
    if (this.closed) return;
    this.out.push(b);
    this.outBytes += b.length;
    this.ackTimer ??= setTimeout(this.flush, ACK_WAIT_MS);
  }

  get backedUp(): boolean {
    return this.outBytes + this.socket.writableLength > SOCKET_HIGH_WATER;
  }

  /** Writes what is queued now and takes nothing more (the connection is ending). */
  finish(): void {
    this.flush();
    this.closed = true;
  }

  /** Drops what is queued and takes nothing more (the connection is gone). */
  discard(): void {
    this.clearAckTimer();
    this.out = [];
    this.outBytes = 0;
    this.chunk = undefined;
    this.sealed = this.used = 0;
    this.closed = true;
  }

  private clearAckTimer(): void {
    if (this.ackTimer === undefined) return;
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    this.clearAckTimer();
    this.seal();
    if (this.closed || this.out.length === 0) return;
    const whole = this.out.length === 1;
    const b = whole ? this.out[0]! : Buffer.concat(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    if (TRACING) trace("cwrite", b.length);
    this.socket.write(b);
    if (TRACING) trace("cwrote", b.length);
    // The chunk may be written from its start again only if the socket holds none of it: a concat copied it, or a
    // TCP or TLS socket took the write at once (its writableLength counts a write until it is done with the bytes;
    // another Duplex, a test's pair, may hand the bytes on as they are). Otherwise it is the socket's now.
    if (whole && b.buffer === this.chunk?.buffer && (this.socket.writableLength > 0 || !this.nativeSocket)) this.chunk = undefined;
    // one that grew past CHUNK_MAX for one large message (a client may allow frames of up to 16 MiB) is not kept
    if (this.chunk !== undefined && this.chunk.length > CHUNK_MAX) this.chunk = undefined;
    this.sealed = this.used = 0;
    if (!this.readPaused && this.socket.writableLength > SOCKET_HIGH_WATER) {
      this.readPaused = true;
      this.socket.pause();
    }
  };
}
