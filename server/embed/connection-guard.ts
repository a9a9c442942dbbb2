import type { Socket } from "node:net";
import type { Logger } from "../log/logger.js";
import { RateLimitedLog } from "../log/rate-limited.js";

/** At most one "connection limit reached" line per listener in this long (with a count of the ones left out). */
export const LIMIT_LOG_INTERVAL_MS = 10_000;

/**
 * One accepted connection, as the listener sees it: in its handshake until the client has shown it speaks
 * (HTTP/2: preface and SETTINGS; HTTP/1: the first request's headers), then idle or busy with `active` requests
 * or streams in flight. A handshake that takes longer than the listener's handshake timeout closes the connection.
 */
export class TrackedConnection {
  protocol: "unknown" | "http1" | "h2" = "unknown";
  private activeCount = 0;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private handshaking = true;

  constructor(
    readonly socket: Socket,
    private readonly guard: ConnectionGuard,
    handshakeMs: number,
  ) {
    this.handshakeTimer = setTimeout(() => socket.destroy(), handshakeMs).unref();
    socket.once("close", () => clearTimeout(this.handshakeTimer));
  }

  get active(): number {
    return this.activeCount;
  }

  get inHandshake(): boolean {
    return this.handshaking;
  }

  /** The client completed its handshake: the connection is idle until a request or stream starts. */
  handshakeDone(): void {
    if (!this.handshaking) return;
    this.handshaking = false;
    clearTimeout(this.handshakeTimer);
    if (this.activeCount === 0) this.guard.markIdle(this);
  }

  /** A request or stream started on this connection. */
  begin(): void {
    this.handshakeDone();
    if (this.activeCount++ === 0) this.guard.markBusy(this);
  }

  /** A request or stream ended. */
  end(): void {
    if (this.activeCount === 0) return;
    if (--this.activeCount === 0) this.guard.markIdle(this);
  }
}

/**
 * A listener's connection limit. Below it, every connection is admitted. At it, a new connection is admitted in
 * place of the connection that has been idle the longest (one still in its handshake first, then one with no
 * request or stream in flight): idle connections that pile up (a client leaking them, a slow-loris, a scan) can
 * then never lock out a new client, e.g. a /health probe. Only when every connection is busy is the new one
 * refused (closed at once). Either way one rate-limited warning says the limit was reached.
 */
export class ConnectionGuard {
  private readonly all = new Map<Socket, TrackedConnection>();
  /** Insertion order is the order they became idle: the first entry has been idle the longest. */
  private readonly inHandshake = new Set<TrackedConnection>();
  private readonly idle = new Set<TrackedConnection>();
  private readonly limitLog: RateLimitedLog | undefined;
  /** Counted since start, reported in the log line. */
  evicted = 0;
  refused = 0;

  constructor(
    readonly limit: number,
    private readonly handshakeMs: number,
    /** For the log line: which listener ("client", "peer", "metrics") and its address once listening. */
    readonly describe: { listener: string; address: string },
    logger: Logger | undefined,
  ) {
    this.limitLog = logger ? new RateLimitedLog(logger, LIMIT_LOG_INTERVAL_MS) : undefined;
  }

  get size(): number {
    return this.all.size;
  }

  /** Admits the socket (closing an idle one if at the limit), or closes it and returns undefined. */
  admit(socket: Socket): TrackedConnection | undefined {
    if (this.all.size >= this.limit) {
      const victim = first(this.inHandshake) ?? first(this.idle);
      if (!victim) {
        this.refused++;
        socket.destroy();
        this.report("connection limit reached and every connection is busy; refusing new connections");
        return undefined;
      }
      this.evicted++;
      this.forget(victim);
      victim.socket.destroy();
      this.report("connection limit reached; closing the longest-idle connections to admit new ones");
    }
    const c = new TrackedConnection(socket, this, this.handshakeMs);
    this.all.set(socket, c);
    this.inHandshake.add(c);
    socket.once("close", () => this.forget(c));
    return c;
  }

  /** The tracked connection of an admitted socket. */
  of(socket: Socket): TrackedConnection | undefined {
    return this.all.get(socket);
  }

  connections(): IterableIterator<TrackedConnection> {
    return this.all.values();
  }

  markIdle(c: TrackedConnection): void {
    if (!this.all.has(c.socket)) return;
    this.inHandshake.delete(c);
    this.idle.delete(c);
    this.idle.add(c);
  }

  markBusy(c: TrackedConnection): void {
    this.inHandshake.delete(c);
    this.idle.delete(c);
  }

  private forget(c: TrackedConnection): void {
    if (this.all.get(c.socket) !== c) return;
    this.all.delete(c.socket);
    this.inHandshake.delete(c);
    this.idle.delete(c);
  }

  private report(msg: string): void {
    this.limitLog?.log(this.describe.address, { ...this.describe, limit: this.limit, "evicted-total": this.evicted, "refused-total": this.refused }, msg);
  }
}

function first<T>(s: Set<T>): T | undefined {
  return s.values().next().value;
}
