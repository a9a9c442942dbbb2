/** What the timers need of a connection (H2Connection). */
export interface PingableConnection {
  /** Sends a PING; cb runs once answered (null) or when the connection closes first (an error). False if none was sent. */
  ping(cb: (err: Error | null) => void): boolean;
  /** GOAWAY, then closes once no stream is left. */
  close(): void;
  destroy(): void;
  readonly destroyed: boolean;
}

export interface SessionTimerOptions {
  /** The server pings a connection this often, and closes it when an answer takes longer than pingTimeoutMs. */
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  /** A connection without a stream for this long is sent GOAWAY and closed (grpc-go's MaxConnectionIdle). */
  readonly idleMs: number;
}

/** Node's timers take at most 2^31-1 ms; a longer setting means "never" here, as it does for grpc-go in practice. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A connection's two clocks: the server's keepalive pings (grpc-go's keepalive.ServerParameters Time and Timeout) and
 * the idle limit. Streams are counted here (opened/closed) so the idle clock knows when there are none. One timer per
 * clock per connection, re-armed when it fires, never per call.
 */
export class SessionTimers {
  private open = 0;
  private idleSince: number;
  private idleTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private answerTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly session: PingableConnection,
    private readonly opts: SessionTimerOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.idleSince = now();
    if (opts.idleMs < MAX_TIMER_MS) this.armIdle(opts.idleMs);
    if (opts.pingIntervalMs < MAX_TIMER_MS) this.armPing();
  }

  streamOpened(): void {
    this.open++;
  }

  streamClosed(): void {
    if (--this.open === 0) this.idleSince = this.now();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.pingTimer);
    clearTimeout(this.answerTimer);
  }

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => {
      if (this.stopped) return;
      const idleFor = this.open === 0 ? this.now() - this.idleSince : 0;
      if (idleFor >= this.opts.idleMs) return this.goAway();
      this.armIdle(this.opts.idleMs - idleFor);
    }, ms);
    this.idleTimer.unref();
  }

  private armPing(): void {
    this.pingTimer = setTimeout(() => {
      if (this.stopped || this.session.destroyed) return;
      const sent = this.session.ping((err) => {
        clearTimeout(this.answerTimer);
        if (!err && !this.stopped) this.armPing();
      });
      if (!sent) return;
      this.answerTimer = setTimeout(() => this.session.destroy(), Math.min(this.opts.pingTimeoutMs, MAX_TIMER_MS));
      this.answerTimer.unref();
    }, this.opts.pingIntervalMs);
    this.pingTimer.unref();
  }

  private goAway(): void {
    this.session.close(); // GOAWAY, then the connection closes once no stream is left (none is)
  }
}
