/**
 * The userspace link shaper (this kernel has no netem): a TCP proxy whose two directions each
 * carry a link's conditions. The kit puts one in front of every peer link (see shaper-rules.ts:
 * a member's connection to a peer's address is redirected by nftables, inside the member's own
 * namespace, to the shaper of that link), so members advertise and dial their real peer URLs.
 *
 * What each condition means here, for a TCP byte stream (the unit is a chunk as read from the
 * socket; a segment is 1448 bytes of it):
 * - delay: every chunk is written to the far side `delayMs` after it was read;
 * - jitter: each chunk's delay is drawn uniformly from delay ± jitter, but a chunk never overtakes
 *   the one before it (TCP delivers in order; netem's reordering has no meaning inside a stream);
 * - bandwidth: the link serialises bytes at the cap (a chunk leaves when the previous ones have
 *   been "transmitted"), before the propagation delay is added;
 * - loss: TCP does not lose data, it delivers it late. Each segment is, with the given probability,
 *   held for one retransmission timeout (the link's round trip + 200 ms, Linux's minimum RTO), and
 *   everything behind it waits (head-of-line blocking), which is what a lost segment costs a stream;
 * - connection set-up: the first bytes do not leave before one round trip (SYN, SYN-ACK) has passed.
 * Back-pressure: when more than `highWaterBytes` wait in a direction, the source is paused until
 * the queue drains below a quarter of it, so a cut or slow link stalls the sender as TCP would.
 * A half-close (FIN) and a reset travel in order behind the data, with the same delay.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { NO_SHAPING, type LinkConditions } from "./link-conditions.js";

export const SEGMENT_BYTES = 1448;
export const MIN_RTO_MS = 200;

export interface ShaperRoute {
  /** Where the shaper listens (inside the source host's namespace: 127.0.0.1 and a port per link). */
  readonly listenHost: string;
  readonly listenPort: number;
  /** Where it forwards to (the peer's address and its shaped peer port). */
  readonly targetHost: string;
  readonly targetPort: number;
  /** Conditions of the bytes the dialer sends (source → target) and of the answers (target → source). */
  readonly up: LinkConditions;
  readonly down: LinkConditions;
  /** For logs: "1>2". */
  readonly name: string;
}

type Item = { at: number; buf: Buffer } | { at: number; end: "fin" | "reset" };

/** One direction of one connection: reads `src`, writes `dst` under `cond`. */
export class ShapedDirection {
  private readonly queue: Item[] = [];
  private queued = 0;
  private txFree = 0;
  private lastRelease = 0;
  private timer: NodeJS.Timeout | null = null;
  private waitingDrain = false;
  private paused = false;
  private done = false;
  bytes = 0;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly cond: LinkConditions,
    /** The reverse direction's conditions: a lost segment costs a whole round trip. */
    private readonly reverse: LinkConditions,
    private readonly rand: () => number,
    private readonly notBefore: number,
    private readonly highWaterBytes = 4 * 1024 * 1024,
    private readonly now: () => number = () => performance.now(),
  ) {
    src.on("data", (b: Buffer) => this.push(b));
    src.on("end", () => this.pushEnd("fin"));
    // An error (refused, reset, timed out) reaches the far side as a reset, even after a FIN.
    src.on("error", () => this.pushEnd("reset", true));
    src.on("close", (hadError) => {
      if (!this.done) this.pushEnd(hadError ? "reset" : "fin");
    });
    dst.on("drain", () => {
      this.waitingDrain = false;
      this.flush();
    });
  }

  /** When a chunk of `len` bytes read now leaves the far end. */
  releaseTime(len: number, t: number): number {
    const c = this.cond;
    let at = t;
    if (c.bandwidthKbit !== null) {
      // kbit/s == bits per ms
      const start = Math.max(t, this.txFree);
      this.txFree = start + (len * 8) / c.bandwidthKbit;
      at = this.txFree;
    }
    at += c.delayMs;
    if (c.jitterMs > 0) at += (this.rand() * 2 - 1) * c.jitterMs;
    if (c.lossPct > 0) {
      const rto = c.delayMs + this.reverse.delayMs + MIN_RTO_MS;
      const segments = Math.max(1, Math.ceil(len / SEGMENT_BYTES));
      for (let i = 0; i < segments; i++) if (this.rand() * 100 < c.lossPct) at += rto;
    }
    at = Math.max(at, this.lastRelease, this.notBefore, t);
    this.lastRelease = at;
    return at;
  }

  private push(buf: Buffer): void {
    if (this.done) return;
    const t = this.now();
    const at = this.releaseTime(buf.length, t);
    this.queue.push({ at, buf });
    this.queued += buf.length;
    if (this.queued > this.highWaterBytes && !this.paused) {
      this.paused = true;
      this.src.pause();
    }
    this.flush();
  }

  private pushEnd(end: "fin" | "reset", evenIfDone = false): void {
    if (this.done && !evenIfDone) return;
    this.done = true;
    this.queue.push({ at: Math.max(this.lastRelease, this.now()), end });
    this.flush();
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length > 0 && !this.waitingDrain) {
      const head = this.queue[0]!;
      const wait = head.at - this.now();
      if (wait > 0.5) {
        this.timer = setTimeout(() => this.flush(), Math.ceil(wait));
        return;
      }
      this.queue.shift();
      if ("end" in head) {
        if (head.end === "fin") this.dst.end();
        // A real reset (RST), not the FIN a plain destroy() of an idle socket sends.
        else if (!this.dst.destroyed) this.dst.resetAndDestroy();
        continue;
      }
      this.queued -= head.buf.length;
      this.bytes += head.buf.length;
      if (this.dst.destroyed) continue;
      if (!this.dst.write(head.buf)) this.waitingDrain = true;
    }
    if (this.paused && this.queued < this.highWaterBytes / 4) {
      this.paused = false;
      this.src.resume();
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.done = true;
  }
}

export interface ShaperStats {
  connections: number;
  open: number;
  bytesUp: number;
  bytesDown: number;
  failedConnects: number;
}

/** Listens on every route's address and shapes each accepted connection towards its target. */
export class LinkShaper {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  readonly stats: ShaperStats = { connections: 0, open: 0, bytesUp: 0, bytesDown: 0, failedConnects: 0 };

  constructor(
    private readonly routes: readonly ShaperRoute[],
    private readonly rand: () => number = Math.random,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  async listen(): Promise<void> {
    for (const r of this.routes) {
      const server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => this.accept(r, client));
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(r.listenPort, r.listenHost, () => {
          server.off("error", reject);
          resolve();
        });
      });
    }
  }

  private accept(r: ShaperRoute, client: Socket): void {
    this.stats.connections++;
    this.stats.open++;
    const t0 = performance.now();
    const upstream = connect({ host: r.targetHost, port: r.targetPort, noDelay: true, allowHalfOpen: true });
    client.setNoDelay(true);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.once("close", () => this.sockets.delete(s));
    }
    // No byte leaves before the handshake's round trip (SYN out, SYN-ACK back) would have passed.
    const rtt = r.up.delayMs + r.down.delayMs;
    const up = new ShapedDirection(client, upstream, r.up, r.down, this.rand, t0 + rtt);
    const down = new ShapedDirection(upstream, client, r.down, r.up, this.rand, t0 + rtt);
    let connected = false;
    upstream.once("connect", () => (connected = true));
    upstream.once("error", (e: NodeJS.ErrnoException) => {
      // The client learns of it like of a refused or timed-out connection: a reset, behind the data.
      if (!connected) {
        this.stats.failedConnects++;
        this.log(`${r.name}: connect to ${r.targetHost}:${r.targetPort} failed: ${e.code ?? e.message}`);
      }
    });
    let closed = 0;
    const onClose = () => {
      if (++closed < 2) return;
      this.stats.open--;
      this.stats.bytesUp += up.bytes;
      this.stats.bytesDown += down.bytes;
      up.close();
      down.close();
    };
    client.once("close", onClose);
    upstream.once("close", onClose);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** Routes for a proxy without conditions (for measuring the shaper's own cost). */
export function plainRoute(listenPort: number, targetHost: string, targetPort: number): ShaperRoute {
  return { listenHost: "127.0.0.1", listenPort, targetHost, targetPort, up: NO_SHAPING, down: NO_SHAPING, name: `:${listenPort}` };
}
