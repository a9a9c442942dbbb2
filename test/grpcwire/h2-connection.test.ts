/**
 * server/grpcwire/h2: the server's own HTTP/2, driven frame by frame through an in-memory wire (what the server
 * writes is captured write by write). Every protocol violation a client can commit gets the RFC 9113 answer (a
 * stream reset, or GOAWAY and the end of the connection) and nothing else, and a unary answer leaves in one
 * write: HEADERS, DATA and trailers together. Any bytes at all: test/fuzz/h2-frames.test.ts.
 */
import { describe, mock, test } from "node:test";
import assert from "node:assert/strict";
import { CLIENT_PREFACE, ErrorCode, Flag, FrameSplitter, FrameType, frame, goawayFrame, rstStreamFrame, settingsFrame, windowUpdateFrame, Setting } from "../../server/grpcwire/h2/frames.js";
import { frameMessage } from "../../server/grpcwire/message-reader.js";
import { GRPC, START, block, dataFrame, goawayOf, headersFrame, messagesOf, open, request, resetsOf, responses, server, tick } from "../support/h2-wire.js";

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
    await new Promise((r) => setTimeout(r, 20)); // a lone ACK waits ~5 ms for a response to ride along
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

  test("a PING's ACK waits for the answer to the request beside it, answered a turn later, and leaves in its write (clientv3 pings with most requests)", async (t) => {
    const { wire } = await open(START);
    // the ACK's own deadline (~5 ms) held still, so a slow turn cannot let it leave first
    mock.timers.enable({ apis: ["setTimeout"] });
    t.after(() => mock.timers.reset());
    const before = wire.writes.length;
    const later = Buffer.concat([headersFrame(1, GRPC.map(([n, v]) => [n, n === ":path" ? "/t.T/Later" : v] as [string, string])), dataFrame(1, frameMessage(Buffer.from("x")))]);
    wire.push(Buffer.concat([frame(FrameType.PING, 0, 0, Buffer.from("bdp-ping")), later]));
    await tick();
    await tick();
    assert.equal(wire.writes.length, before + 1, "one write");
    const frames = new FrameSplitter().push(wire.writes[before]!);
    assert.deepEqual(frames.map((f) => f.type), [FrameType.PING, FrameType.HEADERS, FrameType.DATA, FrameType.HEADERS]);
    assert.deepEqual([frames[0]!.flags, frames[0]!.payload.toString()], [Flag.ACK, "bdp-ping"]);
    mock.timers.tick(5);
    assert.equal(wire.writes.length, before + 1, "nothing left to write");
  });

  test("a lone PING's ACK leaves by itself within its deadline", async (t) => {
    const { wire } = await open(START);
    mock.timers.enable({ apis: ["setTimeout"] });
    t.after(() => mock.timers.reset());
    const before = wire.writes.length;
    wire.push(frame(FrameType.PING, 0, 0, Buffer.from("keepaliv")));
    await tick();
    assert.equal(wire.writes.length, before, "held for a response to ride along");
    mock.timers.tick(4);
    assert.equal(wire.writes.length, before, "still held 4 ms on");
    mock.timers.tick(1);
    assert.deepEqual(new FrameSplitter().push(Buffer.concat(wire.writes.slice(before))).map((f) => [f.type, f.flags, f.payload.toString()]), [[FrameType.PING, Flag.ACK, "keepaliv"]]);
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

  const fanout = (sid: number) => headersFrame(sid, GRPC.map(([n, v]) => [n, n === ":path" ? "/t.T/Fanout" : v] as [string, string]));
  const msg = (sid: number, m: string) => dataFrame(sid, frameMessage(Buffer.from(m)), 0);

  test("messages written in place and as buffers leave in the order written", async () => {
    const { wire } = await open(START);
    wire.push(fanout(1));
    const want: string[] = [];
    // many events, each adding to the write: the in-memory wire keeps every write it was given as it was given
    for (let i = 0; i < 300; i++) {
      wire.push(msg(1, `m${i}`));
      want.push(`m${i}-1`, `m${i}-2`, `m${i}-3`);
      if (i % 7 === 0) await tick();
    }
    await tick();
    assert.deepEqual(messagesOf(responses(wire).get(1)!.data), want);
    const data = wire.frames().filter((f) => f.type === FrameType.DATA);
    assert.equal(data.length, want.length, "one DATA frame per message");
  });

  test("flow control out: a message written in place that does not fit the window waits, and what follows waits behind it", async () => {
    const { wire } = await open(Buffer.concat([CLIENT_PREFACE, settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 20]])]));
    wire.push(Buffer.concat([fanout(1), msg(1, "abcdefgh")])); // three messages of 5 + 10 bytes: only the first fits
    await tick();
    const sent = () => responses(wire).get(1)!.data;
    assert.deepEqual([messagesOf(sent()), sent().length], [["abcdefgh-1"], 20], "the window's 20 bytes: the first, and the start of the second");
    wire.push(msg(1, "ijklmnop"));
    await tick();
    assert.deepEqual([messagesOf(sent()), sent().length], [["abcdefgh-1"], 20], "the later messages wait behind the one that did not fit");
    wire.push(windowUpdateFrame(1, 1000));
    await tick();
    assert.deepEqual(messagesOf(responses(wire).get(1)!.data), ["abcdefgh-1", "abcdefgh-2", "abcdefgh-3", "ijklmnop-1", "ijklmnop-2", "ijklmnop-3"]);
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
  test("fields named __proto__ or constructor are fields like any other: the call is answered", async () => {
    const { wire } = await open(Buffer.concat([START, headersFrame(1, [...GRPC, ["__proto__", "x"], ["constructor", "y"], ["constructor", "z"]]), dataFrame(1, frameMessage(Buffer.from("hi")))]));
    assert.equal(responses(wire).get(1)?.data.subarray(5).toString(), "hi");
    assert.deepEqual(resetsOf(wire), []);
  });

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
