import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ByteArena } from "../../server/util/byte-arena.js";

describe("byte arena", () => {
  it("packs small arrays into shared chunks, each array its own bytes", () => {
    const a = new ByteArena(1024);
    const xs = Array.from({ length: 20 }, (_, i) => {
      const x = a.alloc(30);
      x.fill(i + 1);
      return x;
    });
    // 32 bytes per array (8-aligned): 32 in a 1 KiB chunk, so all 20 in one chunk
    assert.ok(xs.every((x) => x.buffer === xs[0]!.buffer));
    xs.forEach((x, i) => assert.deepEqual([...x], new Array(30).fill(i + 1)));
    assert.equal(new Set(xs.map((x) => x.byteOffset)).size, 20);
  });

  it("starts a new chunk when one is full, and gives large arrays a buffer of their own", () => {
    const a = new ByteArena(1024);
    const first = a.alloc(100);
    for (let i = 0; i < 9; i++) a.alloc(100); // 10 x 104 > 1024: the 10th is in a new chunk
    assert.notEqual(a.alloc(100).buffer, first.buffer);
    const big = a.alloc(129); // > chunk / 8
    assert.equal(big.byteOffset, 0);
    assert.equal(big.buffer.byteLength, 129);
    assert.equal(a.alloc(0).byteLength, 0);
  });

  it("copyOf copies a range, not a view", () => {
    const a = new ByteArena();
    const src = Buffer.from("hello world");
    const c = a.copyOf(src, 6, 11);
    src.fill(0);
    assert.equal(Buffer.from(c).toString(), "world");
    assert.notEqual(c.buffer, src.buffer);
  });

  it("refuses a chunk size it cannot use", () => {
    assert.throws(() => new ByteArena(10), RangeError);
    assert.throws(() => new ByteArena(1.5e3 + 0.5), RangeError);
  });
});
