import type { Socket } from "node:net";
import type { Logger } from "../log/logger.js";
import { idToHex } from "../membership/ids.js";
import { encodedMessageSize } from "../raft/message-codec.js";
import type { Message } from "../raft/types.js";
import type { Upgrade } from "../tls/peer-dialer.js";
import { trace, TRACING } from "../util/latency-trace.js";
import { encodeFrames, encodeMessageFrames, FrameError, FrameKind, FrameReader } from "./frames.js";
import type { PeerIdentity } from "./handshake.js";

/** Messages beyond this many waiting for one peer are dropped: raft retransmits, and a dead peer must not eat memory. */
const MAX_QUEUED = 4096;
/** Bytes written but not yet taken by the kernel beyond which messages are dropped (a peer that stopped reading). */
const MAX_WRITE_BACKLOG = 16 * 1024 * 1024;
const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1000;
/** A ping every this long; no pong within KEEPALIVE_TIMEOUT_MS closes the stream (as the gRPC keepalive did). */
export const KEEPALIVE_MS = 10_000;
export const KEEPALIVE_TIMEOUT_MS = 5_000;
/** The receiver only ever sends pongs and the removal notice. */
const MAX_ANSWER_BYTES = 64 * 1024;
const PING = encodeFrames([{ kind: FrameKind.Ping, payload: Buffer.alloc(0) }]);

export interface SenderHooks {
  reportUnreachable(id: bigint): void;
  /** The peer says this member was removed from the cluster. */
  onRemoved(): void;
}

/** Opens a raft stream to the peer (Transport: PeerDialer.upgrade to the peer's raft stream path). */
export type StreamDial = (identity: PeerIdentity) => Promise<Upgrade>;

export interface SenderTimings {
  readonly keepaliveMs: number;
  readonly keepaliveTimeoutMs: number;
}

/**
 * One long-lived raft stream to one peer (raft-stream-receiver.ts has the other end, frames.ts the
 * framing). The messages of one raft Ready are handed over with `enqueue` and written as one buffer
 * by `flush` at once (a setImmediate hop here would cost every commit a loop turn on the leader and
 * on each follower); `send` alone batches within an event-loop turn. Messages queued while the
 * stream is being dialled go out when it is up. A broken stream is reported to raft (the peer goes
 * back to probing) and re-dialled with back-off; a peer that answers no ping in time is taken for
 * broken, so a partition or a paused peer is noticed as it was with the gRPC keepalive.
 */
export class PeerSender {
  /** Messages waiting for the next flush, and their encoded sizes (they are encoded by flush, into the frame buffer). */
  private queue: Message[] = [];
  private sizes: number[] = [];
  private socket: Socket | undefined;
  private dialing = false;
  private flushScheduled = false;
  private backoffMs = MIN_BACKOFF_MS;
  private redial: NodeJS.Timeout | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private pongDue: NodeJS.Timeout | undefined;
  private closed = false;
  private activeSince = 0;
  private lastError = "";

  constructor(
    private readonly open: StreamDial,
    private readonly identity: PeerIdentity,
    private readonly hooks: SenderHooks,
    private readonly logger: Logger,
    private readonly timings: SenderTimings = { keepaliveMs: KEEPALIVE_MS, keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS },
  ) {
    // Streams to every peer stay up whether or not raft has anything to say to it (a follower only
    // talks to the leader), so "connected for the last 5 s" means what it means in etcd.
    this.dial();
  }

  /** Since when the peer has accepted our stream (0 while it has not): etcd's "active" peer. */
  get connectedSince(): number {
    return this.socket ? this.activeSince : 0;
  }

  /** Queues `m` and writes the queue at the end of this event-loop turn. */
  send(m: Message): void {
    if (!this.enqueue(m)) return;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Queues `m` for the next flush(); false when it was dropped (closed, or too many waiting). */
  enqueue(m: Message): boolean {
    if (this.closed) return false;
    if (this.queue.length >= MAX_QUEUED) {
      this.hooks.reportUnreachable(this.identity.to);
      return false;
    }
    this.queue.push(m);
    this.sizes.push(encodedMessageSize(m));
    if (TRACING) trace(`send${m.type}`, m.entries.at(-1)?.index ?? m.index, m.to);
    return true;
  }

  /** Writes everything queued to the stream now, as one buffer (queued messages wait while it is being dialled). */
  flush(): void {
    if (this.closed || this.queue.length === 0) return;
    const socket = this.socket;
    if (!socket) return void this.dial();
    const messages = this.queue;
    const sizes = this.sizes;
    this.queue = [];
    this.sizes = [];
    if (socket.writableLength > MAX_WRITE_BACKLOG) return this.hooks.reportUnreachable(this.identity.to);
    if (TRACING) trace("flush", messages.length, this.identity.to);
    socket.write(encodeMessageFrames(messages, sizes));
    if (TRACING) trace("wrote", messages.length, this.identity.to);
  }

  private dial(): void {
    if (this.dialing || this.socket || this.redial || this.closed) return;
    this.dialing = true;
    this.open(this.identity).then(
      (u) => {
        this.dialing = false;
        if (this.closed) return void (u.ok && u.socket.destroy());
        if (u.ok) return this.connected(u.socket, u.head);
        if (u.status === 410) return this.hooks.onRemoved();
        this.broken(`${u.status}: ${u.body}`);
      },
      (err: Error) => {
        this.dialing = false;
        if (!this.closed) this.broken(err.message);
      },
    );
  }

  private connected(socket: Socket, head: Buffer): void {
    this.socket = socket;
    this.activeSince = Date.now();
    this.markHealthy();
    socket.setNoDelay(true);
    const reader = new FrameReader(MAX_ANSWER_BYTES);
    let why = "stream closed by peer";
    const onData = (chunk: Buffer) => {
      try {
        for (const f of reader.push(chunk)) {
          if (f.kind === FrameKind.Pong) this.clearPongDue();
          else if (f.kind === FrameKind.Removed) {
            this.closed = true;
            this.stopKeepalive();
            socket.destroy();
            return this.hooks.onRemoved();
          }
        }
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
        why = e.message;
        socket.destroy();
      }
    };
    socket.on("data", onData);
    socket.on("error", (e) => (why = e.message));
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.activeSince = 0;
      this.stopKeepalive();
      if (!this.closed) this.broken(why);
    });
    this.pinger = setInterval(() => this.ping(socket), this.timings.keepaliveMs).unref();
    if (head.length > 0) onData(head);
    try {
      this.flush();
    } catch (e) {
      // A message raft should never make (message-codec.ts refuses to encode it). In Transport.send the
      // error reaches the raft loop; here, in the dial's callback, it would be an unhandled rejection.
      this.logger.error({ "remote-peer-id": idToHex(this.identity.to), error: (e as Error).message }, "dropped raft messages that cannot be encoded");
    }
  }

  private ping(socket: Socket): void {
    if (this.pongDue) return;
    socket.write(PING);
    this.pongDue = setTimeout(() => {
      this.pongDue = undefined;
      socket.destroy(new Error(`no answer to a keepalive ping in ${this.timings.keepaliveTimeoutMs} ms`));
    }, this.timings.keepaliveTimeoutMs).unref();
  }

  private clearPongDue(): void {
    if (this.pongDue) clearTimeout(this.pongDue);
    this.pongDue = undefined;
  }

  private stopKeepalive(): void {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = undefined;
    this.clearPongDue();
  }

  /** The stream could not be opened or broke: raft hears of it, and it is dialled again after a back-off. */
  private broken(msg: string): void {
    if (msg !== this.lastError) {
      this.logger.warn({ "remote-peer-id": idToHex(this.identity.to), error: msg }, "lost TCP streaming connection with remote peer");
      this.lastError = msg;
    }
    this.hooks.reportUnreachable(this.identity.to);
    this.queue = [];
    this.sizes = [];
    this.redial = setTimeout(() => {
      this.redial = undefined;
      this.dial();
    }, this.backoffMs);
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
  }

  private markHealthy(): void {
    this.backoffMs = MIN_BACKOFF_MS;
    if (this.lastError) {
      this.logger.info({ "remote-peer-id": idToHex(this.identity.to) }, "established TCP streaming connection with remote peer");
      this.lastError = "";
    }
  }

  close(): void {
    this.closed = true;
    if (this.redial) clearTimeout(this.redial);
    this.stopKeepalive();
    this.socket?.end();
    this.socket = undefined;
  }
}
