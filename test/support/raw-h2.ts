import { connect, type Socket } from "node:net";
import { connect as tlsConnectSocket, type ConnectionOptions, type TLSSocket } from "node:tls";
import { CLIENT_PREFACE, Flag, FrameSplitter, FrameType, frameHeader, type Frame } from "../../server/grpcwire/h2/frames.js";

export const frame = (type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)) =>
  Buffer.concat([frameHeader(payload.length, type, flags, streamId), payload]);
export const SETTINGS = frame(FrameType.SETTINGS, 0, 0);
export const SETTINGS_ACK = frame(FrameType.SETTINGS, Flag.ACK, 0);
export const pingFrame = (n: number, ack = false) => frame(FrameType.PING, ack ? Flag.ACK : 0, 0, Buffer.alloc(8, n & 0xff));

/** Resolves once the socket is closed (by either side); rejects after `ms`. */
export function closedWithin(socket: Socket, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || socket.closed) return resolve();
    const t = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms);
    socket.once("close", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Resolves true if the socket closes within `ms`, false if it is still open then (it stays open). */
export function closesWithin(socket: Socket, ms: number): Promise<boolean> {
  return closedWithin(socket, ms).then(
    () => true,
    () => false,
  );
}

export async function tcpConnect(port: number, host = "127.0.0.1"): Promise<Socket> {
  const s = connect(port, host);
  s.on("error", () => undefined);
  s.resume(); // read (and drop) whatever the server sends, so its close is seen; 'data' listeners still get it
  await new Promise<void>((resolve, reject) => {
    s.once("connect", resolve);
    s.once("error", reject);
  });
  return s;
}

/** A TLS connection (ALPN h2 unless the options say otherwise), once its handshake is done. */
export async function tlsConnect(port: number, opts: ConnectionOptions): Promise<TLSSocket> {
  const s = tlsConnectSocket({ host: "127.0.0.1", port, ALPNProtocols: ["h2"], ...opts });
  s.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    s.once("secureConnect", resolve);
    s.once("error", reject);
    s.once("close", () => reject(new Error("closed during the TLS handshake")));
  });
  s.resume();
  return s;
}

/**
 * A raw HTTP/2 client for what real clients never do: it sends only what it is told, records every frame, and
 * answers the server's SETTINGS (unless autoAck is off) and, if told, its PINGs.
 */
export class RawH2 {
  readonly frames: Frame[] = [];
  /** The first GOAWAY the server sent. */
  goaway: { code: number; debug: string } | undefined;
  private readonly splitter = new FrameSplitter();

  private constructor(
    readonly socket: Socket,
    private readonly opts: { autoAck: boolean; answerPings: boolean },
  ) {
    socket.on("data", (chunk: Buffer) => {
      for (const f of this.splitter.push(chunk)) this.onFrame(f);
    });
  }

  static async open(port: number, opts: { autoAck?: boolean; answerPings?: boolean; preface?: boolean; tls?: ConnectionOptions } = {}): Promise<RawH2> {
    const socket = opts.tls ? await tlsConnect(port, opts.tls) : await tcpConnect(port);
    const c = new RawH2(socket, { autoAck: opts.autoAck ?? true, answerPings: opts.answerPings ?? true });
    if (opts.preface ?? true) socket.write(Buffer.concat([CLIENT_PREFACE, SETTINGS]));
    return c;
  }

  private onFrame(f: Frame): void {
    this.frames.push(f);
    if (f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK) && this.opts.autoAck) this.write(SETTINGS_ACK);
    if (f.type === FrameType.PING && !(f.flags & Flag.ACK) && this.opts.answerPings) this.write(frame(FrameType.PING, Flag.ACK, 0, f.payload));
    if (f.type === FrameType.GOAWAY && !this.goaway) this.goaway = { code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() };
  }

  write(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  /** PINGs from the server (not ACKs). */
  get serverPings(): number {
    return this.frames.filter((f) => f.type === FrameType.PING && !(f.flags & Flag.ACK)).length;
  }

  async until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
