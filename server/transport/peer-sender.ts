import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../log/logger.js";
import { idToHex } from "../membership/ids.js";
import { encodeMessage } from "../raft/message-codec.js";
import type { Message } from "../raft/types.js";
import { identityMetadata, REMOVED_MESSAGE, type PeerIdentity } from "./handshake.js";
import { MAX_BATCH_BYTES } from "./limits.js";
import { trace, TRACING } from "../util/latency-trace.js";

/** Messages beyond this many waiting for one peer are dropped: raft retransmits, and a dead peer must not eat memory. */
const MAX_QUEUED = 4096;
const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1000;

export interface SenderHooks {
  reportUnreachable(id: bigint): void;
  /** The peer says this member was removed from the cluster. */
  onRemoved(): void;
}

type StreamCall = grpc.ClientWritableStream<{ messages: Buffer[] }>;

/**
 * One long-lived stream to one peer. The messages of one raft Ready are handed over with `enqueue`
 * and written as one batch by `flush` at once (a setImmediate hop here would cost every commit a
 * loop turn on the leader and on each follower); `send` alone batches within an event-loop turn.
 * A broken stream is reported to raft (the peer goes back to probing) and re-dialled with back-off.
 */
export class PeerSender {
  private queue: Buffer[] = [];
  private stream: StreamCall | undefined;
  private flushScheduled = false;
  private backoffMs = MIN_BACKOFF_MS;
  private redial: NodeJS.Timeout | undefined;
  private closed = false;
  private activeSince = 0;
  private lastError = "";

  constructor(
    private readonly client: grpc.Client,
    private readonly identity: PeerIdentity,
    private readonly hooks: SenderHooks,
    private readonly logger: Logger,
  ) {
    // Streams to every peer stay up whether or not raft has anything to say to it (a follower only
    // talks to the leader), so "connected for the last 5 s" means what it means in etcd.
    this.dial();
  }

  /** Since when the peer has accepted our stream (0 while it has not): etcd's "active" peer. */
  get connectedSince(): number {
    return this.stream ? this.activeSince : 0;
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
    this.queue.push(Buffer.from(encodeMessage(m)));
    if (TRACING) trace(`send${m.type}`, m.entries.at(-1)?.index ?? m.index, m.to);
    return true;
  }

  /** Writes everything queued to the stream now, in batches of at most MAX_BATCH_BYTES. */
  flush(): void {
    if (this.closed || this.queue.length === 0) return;
    const stream = this.stream ?? this.dial();
    if (!stream) return;
    if (TRACING) trace("flush", this.queue.length, this.identity.to);
    while (this.queue.length > 0) {
      let bytes = 0;
      let n = 0;
      while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.length <= MAX_BATCH_BYTES)) bytes += this.queue[n++]!.length;
      stream.write({ messages: this.queue.splice(0, n) });
    }
  }

  private dial(): StreamCall | undefined {
    if (this.redial) return undefined;
    const call = (this.client as unknown as { Stream: (md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => StreamCall }).Stream(
      identityMetadata(this.identity),
      (err) => this.onStreamEnd(call, err),
    );
    // The receiver sends its headers as soon as it accepts the stream: that is our "connected".
    call.on("metadata", () => {
      this.activeSince = Date.now();
      this.markHealthy();
    });
    this.stream = call;
    this.activeSince = 0;
    return call;
  }

  private onStreamEnd(call: StreamCall, err: grpc.ServiceError | null): void {
    if (this.stream === call) {
      this.stream = undefined;
      this.activeSince = 0;
    }
    if (this.closed) return;
    const msg = err ? err.details || err.message : "stream closed by peer";
    if (err?.code === grpc.status.PERMISSION_DENIED && msg.includes(REMOVED_MESSAGE)) {
      this.hooks.onRemoved();
      return;
    }
    if (msg !== this.lastError) {
      this.logger.warn({ "remote-peer-id": idToHex(this.identity.to), error: msg }, "lost TCP streaming connection with remote peer");
      this.lastError = msg;
    }
    this.hooks.reportUnreachable(this.identity.to);
    this.queue = [];
    this.redial = setTimeout(() => {
      this.redial = undefined;
      if (this.closed) return;
      if (this.queue.length > 0) this.flush();
      else this.dial();
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
    this.stream?.end();
    this.stream = undefined;
  }
}
