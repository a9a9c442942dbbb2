/**
 * The server's HTTP/2 (server/grpcwire/h2) on an in-memory wire, for tests that drive it frame by frame: the wire
 * captures every write of the server apart, and the helpers build a gRPC client's frames and read the answers.
 */
import { Duplex } from "node:stream";
import { GrpcServer } from "../../server/grpcwire/grpc-server.js";
import type { H2Connection } from "../../server/grpcwire/h2/connection.js";
import { CLIENT_PREFACE, Flag, FrameSplitter, FrameType, HeaderBlockAssembler, frame, settingsFrame, type Frame } from "../../server/grpcwire/h2/frames.js";
import { HpackTable, decodeHeaderBlock, encodeString } from "../../server/grpcwire/h2/hpack.js";
import { frameMessage } from "../../server/grpcwire/message-reader.js";
import type { EncodedMessage, MethodSpec } from "../../server/grpcwire/method.js";

/** The server's socket, in memory: what the client sends is pushed in, every write of the server is kept apart. */
export class Wire extends Duplex {
  readonly writes: Buffer[] = [];
  ended = false;
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writes.push(chunk);
    cb();
  }
  override _final(cb: () => void): void {
    this.ended = true;
    cb();
  }
  /** Every frame the server wrote so far, decoded in order. */
  frames(): Frame[] {
    return new FrameSplitter().push(Buffer.concat(this.writes));
  }
}

const id = (b: Buffer) => b;
const str = (s: string) => encodeString(Buffer.from(s, "latin1"));

/** A request header block: literal fields without indexing, in the order given. */
export function block(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.map(([n, v]) => Buffer.concat([Buffer.from([0x00]), str(n), str(v)])));
}
export const GRPC: [string, string][] = [[":method", "POST"], [":scheme", "http"], [":path", "/t.T/Echo"], [":authority", "x"], ["content-type", "application/grpc"], ["te", "trailers"]];
export const headersFrame = (streamId: number, fields: [string, string][] = GRPC, flags: number = Flag.END_HEADERS) => frame(FrameType.HEADERS, flags, streamId, block(fields));
export const dataFrame = (streamId: number, payload: Buffer, flags: number = Flag.END_STREAM) => frame(FrameType.DATA, flags, streamId, payload);
export const request = (streamId: number, msg = "hi") => Buffer.concat([headersFrame(streamId), dataFrame(streamId, frameMessage(Buffer.from(msg)))]);
export const START = Buffer.concat([CLIENT_PREFACE, settingsFrame([])]);

export function server(maxConcurrentStreams = 100): GrpcServer {
  const g = new GrpcServer({ maxReceiveBytes: 1 << 20, maxConcurrentStreams, pingIntervalMs: 2 ** 31 - 1, pingTimeoutMs: 20_000, idleMs: 2 ** 31 - 1 });
  const spec = (path: string, kind: MethodSpec<Buffer, Buffer>["kind"]): MethodSpec<Buffer, Buffer> => ({ path, kind, decode: id, encode: id });
  g.unary(spec("/t.T/Echo", "unary"), (call, req) => call.reply(req));
  // answered later, every call waiting then in one callback (as an apply batch answers its proposals)
  let waiting: (() => void)[] = [];
  g.unary(spec("/t.T/Later", "unary"), (call, req) => {
    if (waiting.length === 0)
      setImmediate(() => {
        const w = waiting;
        waiting = [];
        for (const f of w) f();
      });
    waiting.push(() => call.reply(req));
  });
  g.stream(spec("/t.T/Hold", "bidi_stream"), () => undefined);
  // each message "m" is answered with "m-1" and "m-3" written in place (writeMessage) around "m-2" written as a buffer
  g.stream(spec("/t.T/Fanout", "bidi_stream"), (call) => {
    call.onMessage = (m) => {
      call.writeMessage(encoded(Buffer.from(`${m}-1`)));
      call.write(Buffer.from(`${m}-2`));
      call.writeMessage(encoded(Buffer.from(`${m}-3`)));
    };
  });
  // each message "name:count:size" is answered with `count` messages of `size` bytes written in place (inPlaceBody)
  g.stream(spec("/t.T/InPlace", "bidi_stream"), (call) => {
    call.onMessage = (m) => {
      const [name, count, size] = m.toString().split(":");
      for (let i = 0; i < Number(count); i++) call.writeMessage(encoded(inPlaceBody(name!, i, Number(size))));
    };
  });
  g.stream(spec("/t.T/Paused", "bidi_stream"), (call) => call.pause());
  return g;
}

/** A message that writes itself (what ServerCall.writeMessage takes). */
export const encoded = (b: Buffer): EncodedMessage => ({ length: b.length, writeTo: (buf, at) => void b.copy(buf, at) });

/** The i-th answer of /t.T/InPlace to "name:count:size": `name.i.` repeated over `size` bytes. */
export const inPlaceBody = (name: string, i: number, size: number): Buffer => Buffer.alloc(size, `${name}.${i}.`);

/** The whole gRPC messages in a stream's DATA, in order (the start of one cut by flow control is left out). */
export function messagesOf(data: Buffer): string[] {
  const out: string[] = [];
  for (let p = 0; p + 5 <= data.length; ) {
    const n = data.readUInt32BE(p + 1);
    if (p + 5 + n > data.length) break;
    out.push(data.subarray(p + 5, p + 5 + n).toString());
    p += 5 + n;
  }
  return out;
}

export const tick = () => new Promise<void>((r) => setImmediate(r));

export async function open(bytes: Buffer, g = server()): Promise<{ wire: Wire; c: H2Connection; g: GrpcServer }> {
  const wire = new Wire();
  const c = g.attach(wire, bytes);
  await tick();
  return { wire, c, g };
}

export const goawayOf = (w: Wire) => {
  const f = w.frames().find((x) => x.type === FrameType.GOAWAY);
  return f ? { last: f.payload.readUInt32BE(0), code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() } : undefined;
};
export const resetsOf = (w: Wire) => w.frames().filter((x) => x.type === FrameType.RST_STREAM).map((x) => ({ stream: x.streamId, code: x.payload.readUInt32BE(0) }));

/** The responses the server wrote, per stream: header blocks decoded, DATA joined. */
export function responses(w: Wire): Map<number, { blocks: [string, string][][]; data: Buffer; ended: boolean }> {
  const out = new Map<number, { blocks: [string, string][][]; data: Buffer; ended: boolean }>();
  const a = new HeaderBlockAssembler();
  const t = new HpackTable();
  for (const f of w.frames()) {
    const get = () => {
      let r = out.get(f.streamId);
      if (!r) out.set(f.streamId, (r = { blocks: [], data: Buffer.alloc(0), ended: false }));
      return r;
    };
    const b = a.accept(f);
    if (typeof b !== "string") {
      get().blocks.push(decodeHeaderBlock(b.block, t));
      if (b.flags & Flag.END_STREAM) get().ended = true;
    } else if (f.type === FrameType.DATA) {
      get().data = Buffer.concat([get().data, f.payload]);
      if (f.flags & Flag.END_STREAM) get().ended = true;
    }
  }
  return out;
}

