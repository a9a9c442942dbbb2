import type { Duplex } from "node:stream";
import { trace, TRACING } from "../../util/latency-trace.js";

/** Stop sending DATA, and reading, while the socket holds this much not yet written. */
const SOCKET_HIGH_WATER = 1 << 20;

/** How long a PING's ACK may wait for a response to leave with (ms). */
const ACK_WAIT_MS = 5;

/**
 * A connection's outgoing bytes. Every frame queued while one event is handled leaves in one socket write at the end
 * of that event (a microtask): a unary answer's HEADERS, DATA and trailers together, and the answers of one apply
 * batch together. While the socket holds more than SOCKET_HIGH_WATER not yet written, `backedUp` says so (no more
 * DATA is queued) and the socket is not read: a client that does not read its answers is not read either, so its
 * requests wait in TCP rather than in memory. `onRoom` runs when the socket drained.
 */
export class FrameWriter {
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushQueued = false;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readPaused = false;

  constructor(
    private readonly socket: Duplex,
    private readonly onRoom: () => void,
  ) {
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
    this.out.push(b);
    this.outBytes += b.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
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
    if (this.closed || this.out.length === 0) return;
    const b = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    if (TRACING) trace("cwrite", b.length);
    this.socket.write(b);
    if (TRACING) trace("cwrote", b.length);
    if (!this.readPaused && this.socket.writableLength > SOCKET_HIGH_WATER) {
      this.readPaused = true;
      this.socket.pause();
    }
  };
}
