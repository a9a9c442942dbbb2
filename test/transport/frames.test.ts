/** The raft stream's framing: frames survive any chunking, and a bad header closes the stream before its payload is held. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeFrames, FrameError, FrameKind, FrameReader } from "../../server/transport/frames.js";
import { fuzzParams } from "../fuzz/settings.js";

const frame = fc.record({
  kind: fc.constantFrom(FrameKind.Message, FrameKind.Ping, FrameKind.Pong, FrameKind.Removed),
  payload: fc.uint8Array({ maxLength: 300 }),
});

test("frames come out as they went in, however the bytes are cut into chunks", () => {
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 20 }), fc.array(fc.nat(400), { maxLength: 30 }), (frames, cuts) => {
      const bytes = encodeFrames(frames);
      const reader = new FrameReader(300);
      const got: { kind: FrameKind; payload: Uint8Array }[] = [];
      let at = 0;
      for (const c of cuts) {
        const end = Math.min(bytes.length, at + c);
        for (const f of reader.push(bytes.subarray(at, end))) got.push({ kind: f.kind, payload: new Uint8Array(f.payload) });
        at = end;
      }
      for (const f of reader.push(bytes.subarray(at))) got.push({ kind: f.kind, payload: new Uint8Array(f.payload) });
      assert.deepEqual(got, frames.map((f) => ({ kind: f.kind, payload: new Uint8Array(f.payload) })));
      assert.equal(reader.buffered, 0);
    }),
    fuzzParams(),
  );
});

test("a length over the limit is refused from the header, before any payload arrives", () => {
  const reader = new FrameReader(1024);
  const header = encodeFrames([{ kind: FrameKind.Message, payload: new Uint8Array(1025) }]).subarray(0, 5);
  assert.throws(() => reader.push(header), FrameError);
  // the same from a header cut into single bytes
  const bytewise = new FrameReader(1024);
  assert.throws(() => {
    for (const b of header) bytewise.push(Buffer.from([b]));
  }, /exceeds the limit of 1024/);
});

test("an unknown frame kind is refused; a frame of exactly the limit is accepted", () => {
  assert.throws(() => new FrameReader(10).push(Buffer.from([9, 0, 0, 0, 0])), /unknown raft stream frame kind 9/);
  const ok = new FrameReader(10).push(encodeFrames([{ kind: FrameKind.Message, payload: new Uint8Array(10).fill(1) }]));
  assert.equal(ok.length, 1);
  assert.equal(ok[0]!.payload.length, 10);
});

test("a large frame arriving in many chunks comes out once, whole, when its last chunk arrives", () => {
  const reader = new FrameReader(1 << 20);
  const bytes = encodeFrames([{ kind: FrameKind.Message, payload: new Uint8Array(1 << 20).fill(3) }]);
  let out: ReturnType<FrameReader["push"]> = [];
  for (let at = 0; at < bytes.length; at += 4096) {
    out = reader.push(bytes.subarray(at, at + 4096));
    if (at + 4096 < bytes.length) assert.equal(out.length, 0);
  }
  assert.equal(out.length, 1);
  assert.equal(out[0]!.payload.length, 1 << 20);
  assert.ok(out[0]!.payload.every((b) => b === 3));
});
