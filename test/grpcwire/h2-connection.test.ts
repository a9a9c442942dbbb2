/**
 * server/grpcwire/h2: the server's own HTTP/2, driven frame by frame through an in-memory wire (what the server
 * writes is captured write by write). Every protocol violation a client can commit gets the RFC 9113 answer (a
 * stream reset, or GOAWAY and the end of the connection) and nothing else; any bytes at all never throw out of the
 * connection (fuzzed); and a unary answer leaves in one write: HEADERS, DATA and trailers together.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import fc from "fast-check";
import { GrpcServer } from "../../server/grpcwire/grpc-server.js";
import type { H2Connection } from "../../server/grpcwire/h2/connection.js";
import {
  CLIENT_PREFACE,
  ErrorCode,
  Flag,
  FrameSplitter,
  FrameType,
  HeaderBlockAssembler,
  frame,
  goawayFrame,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
  Setting,
  type Frame,
} from "../../server/grpcwire/h2/frames.js";
import { HpackTable, decodeHeaderBlock, encodeString } from "../../server/grpcwire/h2/hpack.js";
import { frameMessage } from "../../server/grpcwire/message-reader.js";
import type { MethodSpec } from "../../server/grpcwire/method.js";
import { fuzzParams } from "../fuzz/settings.js";

/** The server's socket, in memory: what the client sends is pushed in, every write of the server is kept apart. */
class Wire extends Duplex {
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
function block(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.map(([n, v]) => Buffer.concat([Buffer.from([0x00]), str(n), str(v)])));
}
const GRPC: [string, string][] = [[":method", "POST"], [":scheme", "http"], [":path", "/t.T/Echo"], [":authority", "x"], ["content-type", "application/grpc"], ["te", "trailers"]];
const headersFrame = (streamId: number, fields: [string, string][] = GRPC, flags: number = Flag.END_HEADERS) => frame(FrameType.HEADERS, flags, streamId, block(fields));
const dataFrame = (streamId: number, payload: Buffer, flags: number = Flag.END_STREAM) => frame(FrameType.DATA, flags, streamId, payload);
const request = (streamId: number, msg = "hi") => Buffer.concat([headersFrame(streamId), dataFrame(streamId, frameMessage(Buffer.from(msg)))]);
const START = Buffer.concat([CLIENT_PREFACE, settingsFrame([])]);

function server(maxConcurrentStreams = 100): GrpcServer {
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
  g.stream(spec("/t.T/Paused", "bidi_stream"), (call) => call.pause());
  return g;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

async function open(bytes: Buffer, g = server()): Promise<{ wire: Wire; c: H2Connection; g: GrpcServer }> {
  const wire = new Wire();
  const c = g.attach(wire, bytes);
  await tick();
  return { wire, c, g };
}

const goawayOf = (w: Wire) => {
  const f = w.frames().find((x) => x.type === FrameType.GOAWAY);
  return f ? { last: f.payload.readUInt32BE(0), code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() } : undefined;
};
const resetsOf = (w: Wire) => w.frames().filter((x) => x.type === FrameType.RST_STREAM).map((x) => ({ stream: x.streamId, code: x.payload.readUInt32BE(0) }));

/** The responses the server wrote, per stream: header blocks decoded, DATA joined. */
function responses(w: Wire): Map<number, { blocks: [string, string][][]; data: Buffer; ended: boolean }> {
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

async function expectGoaway(bytes: Buffer, code: number): Promise<void> {
  const { wire, c } = await open(bytes);
  assert.equal(goawayOf(wire)?.code, code, `GOAWAY ${code} expected; frames ${wire.frames().map((f) => f.type)}`);
  assert.ok(wire.ended || c.destroyed, "the connection ends");
}

describe("grpcwire h2: answers", () => {
  test("the server's first frames: SETTINGS (MAX_CONCURRENT_STREAMS, MAX_HEADER_LIST_SIZE) and a connection WINDOW_UPDATE, then the ACK of the client's", async () => {
    const { wire } = await open(START);
    const f = wire.frames();
    assert.equal(f[0]!.type, FrameType.SETTINGS);
    assert.equal(f[0]!.payload.readUInt16BE(0), Setting.MAX_CONCURRENT_STREAMS);
    assert.equal(f[0]!.payload.readUInt32BE(2), 100);
    assert.equal(f[1]!.type, FrameType.WINDOW_UPDATE);
    assert.deepEqual([f[2]!.type, f[2]!.flags], [FrameType.SETTINGS, Flag.ACK]);
  });

  test("a unary answer is one write: HEADERS, DATA and trailers (END_STREAM) together", async () => {
    const { wire } = await open(START);
    const before = wire.writes.length;
    wire.push(request(1));
    await tick();
    assert.equal(wire.writes.length, before + 1, "one write");
    const frames = new FrameSplitter().push(wire.writes[before]!);
    assert.deepEqual(frames.map((f) => f.type), [FrameType.HEADERS, FrameType.DATA, FrameType.HEADERS]);
    assert.equal(frames[2]!.flags & Flag.END_STREAM, Flag.END_STREAM);
    const r = responses(wire).get(1)!;
    assert.deepEqual(r.blocks[0], [[":status", "200"], ["content-type", "application/grpc"]]);
    assert.deepEqual(r.blocks[1], [["grpc-status", "0"]]);
    assert.equal(r.data.subarray(5).toString(), "hi");
    assert.deepEqual(resetsOf(wire), [], "no reset after a complete exchange");
  });

  test("answers given in one event (three calls answered later by one callback) share one write", async () => {
    const { wire } = await open(START);
    const later = (sid: number) => Buffer.concat([headersFrame(sid, GRPC.map(([n, v]) => [n, n === ":path" ? "/t.T/Later" : v] as [string, string])), dataFrame(sid, frameMessage(Buffer.from(`m${sid}`)))]);
    const before = wire.writes.length;
    wire.push(Buffer.concat([later(1), later(3), later(5)]));
    await tick();
    await tick();
    const after = wire.writes.slice(before);
    const all = responses(wire);
    assert.deepEqual([1, 3, 5].map((s) => all.get(s)?.data.subarray(5).toString()), ["m1", "m3", "m5"]);
    assert.equal(after.length, 1, `${after.length} writes for three answers given in one callback`);
  });

  test("PING is answered with its payload; the server's own PING resolves on the ACK", async () => {
    const { wire, c } = await open(START);
    wire.push(frame(FrameType.PING, 0, 0, Buffer.from("12345678")));
    await tick();
    const ack = wire.frames().find((f) => f.type === FrameType.PING);
    assert.deepEqual([ack!.flags, ack!.payload.toString()], [Flag.ACK, "12345678"]);
    let answered: Error | null | undefined;
    assert.equal(c.ping((e) => (answered = e)), true);
    await tick();
    const ours = wire.frames().filter((f) => f.type === FrameType.PING && !(f.flags & Flag.ACK)).at(-1)!;
    wire.push(frame(FrameType.PING, Flag.ACK, 0, ours.payload));
    await tick();
    assert.equal(answered, null);
  });

  test("flow control out: a response larger than the client's window waits for WINDOW_UPDATE, then completes", async () => {
    const { wire } = await open(Buffer.concat([CLIENT_PREFACE, settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 10]])]));
    wire.push(request(1, "0123456789abcdefghij"));
    await tick();
    let r = responses(wire).get(1)!;
    assert.equal(r.data.length, 10, "the stream window");
    assert.equal(r.ended, false);
    wire.push(windowUpdateFrame(1, 100));
    await tick();
    r = responses(wire).get(1)!;
    assert.equal(r.data.subarray(5).toString(), "0123456789abcdefghij");
    assert.equal(r.ended, true);
  });

  test("more streams than MAX_CONCURRENT_STREAMS: REFUSED_STREAM, the connection stays and later calls are answered", async () => {
    const { wire } = await open(START, server(2));
    const hold = (sid: number) => headersFrame(sid, GRPC.map(([n, v]) => [n, n === ":path" ? "/t.T/Hold" : v] as [string, string]));
    wire.push(Buffer.concat([hold(1), hold(3), hold(5)]));
    await tick();
    assert.deepEqual(resetsOf(wire), [{ stream: 5, code: ErrorCode.REFUSED_STREAM }]);
    wire.push(rstStreamFrame(1, ErrorCode.CANCEL));
    wire.push(request(7));
    await tick();
    assert.equal(responses(wire).get(7)?.data.subarray(5).toString(), "hi");
  });

  test("a client GOAWAY: open streams finish, then the connection ends", async () => {
    const { wire } = await open(START);
    wire.push(Buffer.concat([headersFrame(1, GRPC.map(([n, v]) => [n, n === ":path" ? "/t.T/Later" : v] as [string, string])), goawayFrame(0, 0), dataFrame(1, frameMessage(Buffer.from("x")))]));
    await tick();
    await tick();
    assert.equal(responses(wire).get(1)?.ended, true);
    assert.equal(wire.ended, true);
  });
});

describe("grpcwire h2: malformed requests reset the stream, the connection stays", () => {
  const cases: [string, [string, string][]][] = [
    ["an uppercase field name", [...GRPC, ["X-Up", "1"]]],
    ["no :path", GRPC.filter(([n]) => n !== ":path")],
    ["a pseudo-header after a regular field", [...GRPC.filter(([n]) => n !== ":method"), [":method", "POST"]]],
    ["an unknown pseudo-header", [[":protocol", "x"], ...GRPC]],
    ["a connection-specific field", [...GRPC, ["connection", "close"]]],
    ["te other than trailers", [...GRPC.filter(([n]) => n !== "te"), ["te", "gzip"]]],
    ["CR LF in a value", [...GRPC, ["x-a", "a\r\nb"]]],
    ["a header list over 64 KiB", [...GRPC, ["x-big", "v".repeat(70_000)]]],
    ["not gRPC (content-type)", GRPC.map(([n, v]) => [n, n === "content-type" ? "text/plain" : v] as [string, string])],
  ];
  for (const [what, fields] of cases) {
    test(what, async () => {
      const bad = fields.some(([, v]) => v.length > 16_000)
        ? Buffer.concat([frame(FrameType.HEADERS, 0, 1, block(fields).subarray(0, 16_000)), ...chunks(block(fields).subarray(16_000), 16_000).map((c, i, a) => frame(FrameType.CONTINUATION, i === a.length - 1 ? Flag.END_HEADERS : 0, 1, c))])
        : headersFrame(1, fields);
      const { wire } = await open(Buffer.concat([START, bad, request(3)]));
      assert.deepEqual(resetsOf(wire), [{ stream: 1, code: ErrorCode.PROTOCOL_ERROR }]);
      assert.equal(goawayOf(wire), undefined);
      assert.equal(responses(wire).get(3)?.data.subarray(5).toString(), "hi");
    });
  }

  test("DATA beyond the window of a stream that is not read (paused): RST_STREAM FLOW_CONTROL_ERROR", async () => {
    const hold = headersFrame(1, GRPC.map(([n, v]) => [n, n === ":path" ? "/t.T/Paused" : v] as [string, string]));
    const parts = [START, hold];
    for (let sent = 0; sent <= 65_535; sent += 16_000) parts.push(dataFrame(1, Buffer.alloc(16_000), 0));
    const { wire } = await open(Buffer.concat([...parts, request(3)]));
    assert.deepEqual(resetsOf(wire).filter((r) => r.stream === 1), [{ stream: 1, code: ErrorCode.FLOW_CONTROL_ERROR }]);
    assert.equal(responses(wire).get(3)?.data.subarray(5).toString(), "hi");
  });
});

function chunks(b: Buffer, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += n) out.push(b.subarray(i, i + n));
  return out;
}

describe("grpcwire h2: connection errors end the connection with GOAWAY", () => {
  test("not the preface: PROTOCOL_ERROR", () => expectGoaway(Buffer.from("GET / HTTP/1.1\r\n\r\n"), ErrorCode.PROTOCOL_ERROR));
  test("a first frame other than SETTINGS: PROTOCOL_ERROR", () => expectGoaway(Buffer.concat([CLIENT_PREFACE, frame(FrameType.PING, 0, 0, Buffer.alloc(8))]), ErrorCode.PROTOCOL_ERROR));
  test("a frame over 16384 bytes: FRAME_SIZE_ERROR, from its header alone", () => expectGoaway(Buffer.concat([START, Buffer.from([0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 1])]), ErrorCode.FRAME_SIZE_ERROR));
  test("HEADERS on an even stream: PROTOCOL_ERROR", () => expectGoaway(Buffer.concat([START, headersFrame(2)]), ErrorCode.PROTOCOL_ERROR));
  test("DATA on an idle stream: PROTOCOL_ERROR", () => expectGoaway(Buffer.concat([START, dataFrame(9, Buffer.from("x"))]), ErrorCode.PROTOCOL_ERROR));
  test("a frame inside a header block: PROTOCOL_ERROR", () => expectGoaway(Buffer.concat([START, headersFrame(1, GRPC, 0), frame(FrameType.PING, 0, 0, Buffer.alloc(8))]), ErrorCode.PROTOCOL_ERROR));
  test("a header block that does not decode: COMPRESSION_ERROR", () => expectGoaway(Buffer.concat([START, frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))]), ErrorCode.COMPRESSION_ERROR));
  test("an HPACK table size over the advertised 4096: COMPRESSION_ERROR", () => expectGoaway(Buffer.concat([START, frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x3f, 0xe2, 0x1f]))]), ErrorCode.COMPRESSION_ERROR));
  test("a connection window over 2^31-1: FLOW_CONTROL_ERROR", () => expectGoaway(Buffer.concat([START, windowUpdateFrame(0, 0x7fff_ffff)]), ErrorCode.FLOW_CONTROL_ERROR));
  test("a SETTINGS length not a multiple of 6: FRAME_SIZE_ERROR", () => expectGoaway(Buffer.concat([START, frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5))]), ErrorCode.FRAME_SIZE_ERROR));
  test("PUSH_PROMISE from a client: PROTOCOL_ERROR", () => expectGoaway(Buffer.concat([START, frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.alloc(4))]), ErrorCode.PROTOCOL_ERROR));
  test("RST_STREAM on an idle stream: PROTOCOL_ERROR", () => expectGoaway(Buffer.concat([START, rstStreamFrame(11, 0)]), ErrorCode.PROTOCOL_ERROR));
});

describe("grpcwire h2: fuzzed frames", () => {
  const frameArb = fc
    .tuple(
      fc.integer({ min: 0, max: 11 }),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0, 1, 2, 3, 5, 7, 99),
      fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constant(new Uint8Array(0))),
    )
    .map(([type, flags, sid, payload]) => frame(type, flags, sid, Buffer.from(payload)));
  const validArb = fc.constantFrom(request(1), request(3), headersFrame(5), dataFrame(5, Buffer.from([0, 0, 0, 0, 1, 7])), windowUpdateFrame(0, 1000), frame(FrameType.PING, 0, 0, Buffer.alloc(8)));

  test("any frames after the handshake, at any cut: no exception, and the connection answers or has said GOAWAY", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(frameArb, validArb), { maxLength: 12 }), fc.integer({ min: 1, max: 64 }), async (frames, cut) => {
        const bytes = Buffer.concat([START, ...frames]);
        const wire = new Wire();
        const c = server().attach(wire);
        for (let i = 0; i < bytes.length; i += cut) wire.push(bytes.subarray(i, i + cut));
        await tick();
        await tick();
        const out = wire.frames(); // what the server wrote is well-framed
        if (goawayOf(wire) === undefined && !c.destroyed) {
          // still serving: a fresh stream id past anything used is answered
          wire.push(request(101));
          await tick();
          assert.ok(responses(wire).get(101)?.ended || goawayOf(wire) !== undefined, `stream 101 answered after ${out.length} frames`);
        }
        c.destroy();
      }),
      fuzzParams(),
    );
  });
});
