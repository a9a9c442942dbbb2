import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_MAX_FRAME_SIZE,
  Flag,
  FrameError,
  FrameSplitter,
  FrameType,
  HeaderBlockAssembler,
  encodeHeaderBlock,
  frameHeader,
  headersFragment,
  type Frame,
  type HeaderBlock,
} from "../../server/grpcwire/h2/frames.js";

const frame = (type: number, flags: number, streamId: number, payload: Buffer) => Buffer.concat([frameHeader(payload.length, type, flags, streamId), payload]);
const one = (bytes: Buffer): Frame => {
  const fs = new FrameSplitter().push(bytes);
  assert.equal(fs.length, 1);
  return fs[0]!;
};

describe("h2-frames", () => {
  test("frames split across pushes at every byte come out whole, in order, with their fields", () => {
    const stream = Buffer.concat([
      frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0xff, 0xff])),
      frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 0x10, 0])),
      frame(FrameType.HEADERS, Flag.END_HEADERS, 0x7fffffff, Buffer.from("abc")),
      frame(FrameType.DATA, Flag.END_STREAM, 3, Buffer.alloc(20_000, 7)),
    ]);
    for (const step of [1, 2, 9, 10, 4096, stream.length]) {
      const s = new FrameSplitter();
      const got: Frame[] = [];
      for (let i = 0; i < stream.length; i += step) got.push(...s.push(stream.subarray(i, i + step)));
      assert.deepEqual(got.map((f) => [f.type, f.flags, f.streamId, f.payload.length]), [
        [FrameType.SETTINGS, 0, 0, 6],
        [FrameType.WINDOW_UPDATE, 0, 0, 4],
        [FrameType.HEADERS, Flag.END_HEADERS, 0x7fffffff, 3],
        [FrameType.DATA, Flag.END_STREAM, 3, 20_000],
      ]);
      assert.ok(Buffer.concat(got.map((f) => f.raw)).equals(stream), `step ${step}: raw bytes are the stream`);
      assert.equal(s.pending.length, 0);
    }
    const s = new FrameSplitter();
    assert.equal(s.push(stream.subarray(0, 12)).length, 0);
    assert.equal(s.pending.length, 12);
  });

  test("the reserved bit of the stream id is ignored", () => {
    const raw = frame(FrameType.HEADERS, 0, 5, Buffer.alloc(0));
    raw[5]! |= 0x80;
    assert.equal(one(raw).streamId, 5);
  });

  test("PADDED and PRIORITY: the fragment without pad length, priority fields or padding", () => {
    const block = Buffer.from("field-block");
    const prio = Buffer.from([0x80, 0, 0, 1, 15]); // exclusive, depends on 1, weight 16
    const cases: [number, Buffer][] = [
      [0, block],
      [Flag.PADDED, Buffer.concat([Buffer.from([3]), block, Buffer.alloc(3)])],
      [Flag.PRIORITY, Buffer.concat([prio, block])],
      [Flag.PADDED | Flag.PRIORITY, Buffer.concat([Buffer.from([200]), prio, block, Buffer.alloc(200)])],
      [Flag.PADDED, Buffer.concat([Buffer.from([0]), block])],
    ];
    for (const [flags, payload] of cases) {
      const f = headersFragment(one(frame(FrameType.HEADERS, flags | Flag.END_HEADERS, 1, payload)));
      assert.ok(f.fragment.equals(block), `flags ${flags}`);
      assert.deepEqual(f.priority, flags & Flag.PRIORITY ? prio : undefined);
    }
    assert.throws(() => headersFragment(one(frame(FrameType.HEADERS, Flag.PADDED, 1, Buffer.from([10, 1, 2])))), FrameError);
    assert.throws(() => headersFragment(one(frame(FrameType.HEADERS, Flag.PADDED, 1, Buffer.alloc(0)))), FrameError);
  });

  test("HEADERS + CONTINUATION reassemble into one block; a frame in between is a FrameError", () => {
    const a = new HeaderBlockAssembler();
    const frames = new FrameSplitter().push(Buffer.concat([
      frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY | Flag.END_STREAM, 3, Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 7]), Buffer.from("one-"), Buffer.alloc(2)])),
      frame(FrameType.CONTINUATION, 0, 3, Buffer.from("two-")),
      frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, Buffer.from("three")),
      frame(FrameType.DATA, 0, 3, Buffer.from("x")),
    ]));
    assert.equal(a.accept(frames[0]!), "partial");
    assert.equal(a.inBlock, true);
    assert.equal(a.accept(frames[1]!), "partial");
    const b = a.accept(frames[2]!) as HeaderBlock;
    assert.equal(b.block.toString(), "one-two-three");
    assert.equal(b.streamId, 3);
    assert.equal(b.flags & Flag.END_STREAM, Flag.END_STREAM);
    assert.deepEqual([...b.priority!], [0, 0, 0, 0, 7]);
    assert.equal(b.frames.length, 3);
    assert.equal(a.accept(frames[3]!), "other");

    const c = new HeaderBlockAssembler();
    c.accept(frames[0]!);
    assert.throws(() => c.accept(frames[3]!), FrameError, "DATA inside a header block");
    const d = new HeaderBlockAssembler();
    d.accept(frames[0]!);
    assert.throws(() => d.accept(one(frame(FrameType.CONTINUATION, Flag.END_HEADERS, 5, Buffer.alloc(1)))), FrameError, "CONTINUATION of another stream");
    assert.throws(() => new HeaderBlockAssembler().accept(frames[1]!), FrameError, "CONTINUATION with no HEADERS");
    const e = new HeaderBlockAssembler(10);
    e.accept(frames[0]!);
    e.accept(frames[1]!);
    assert.throws(() => e.accept(frames[2]!), FrameError, "block over the size limit");
  });

  test("encodeHeaderBlock: one HEADERS when it fits, else HEADERS + CONTINUATIONs of at most 16384 bytes; flags kept, padding dropped", () => {
    for (const size of [0, 100, DEFAULT_MAX_FRAME_SIZE - 5, DEFAULT_MAX_FRAME_SIZE - 4, DEFAULT_MAX_FRAME_SIZE, 3 * DEFAULT_MAX_FRAME_SIZE + 1]) {
      for (const prio of [undefined, Buffer.from([0, 0, 0, 1, 9])]) {
        const block = Buffer.alloc(size);
        for (let i = 0; i < size; i++) block[i] = i & 0xff;
        const flags = Flag.END_STREAM | Flag.PADDED | (prio ? Flag.PRIORITY : 0);
        const frames = new FrameSplitter().push(encodeHeaderBlock(9, flags, prio, block));
        assert.ok(frames.every((f) => f.payload.length <= DEFAULT_MAX_FRAME_SIZE && f.streamId === 9));
        assert.equal(frames[0]!.type, FrameType.HEADERS);
        assert.equal(frames[0]!.flags & Flag.PADDED, 0);
        assert.equal(frames[0]!.flags & Flag.END_STREAM, Flag.END_STREAM);
        assert.equal(frames[0]!.flags & Flag.PRIORITY, prio ? Flag.PRIORITY : 0);
        assert.ok(frames.slice(1).every((f) => f.type === FrameType.CONTINUATION));
        assert.deepEqual(frames.map((f) => (f.flags & Flag.END_HEADERS) !== 0), frames.map((_, i) => i === frames.length - 1));
        const fits = size + (prio ? 5 : 0) <= DEFAULT_MAX_FRAME_SIZE;
        assert.equal(frames.length === 1, fits, `size ${size} prio ${!!prio}`);
        const a = new HeaderBlockAssembler();
        const results = frames.map((f) => a.accept(f));
        const b = results.at(-1) as HeaderBlock;
        assert.ok(b.block.equals(block));
        assert.deepEqual(b.priority, prio);
      }
    }
  });
});
