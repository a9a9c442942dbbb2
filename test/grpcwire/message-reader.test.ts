/** server/grpcwire/message-reader.ts: gRPC messages out of DATA, whatever the chunking; limits from the prefix. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { encodingOf, frameMessage, MessageReader, type Encoding } from "../../server/grpcwire/message-reader.js";
import type { GrpcStatus } from "../../server/grpcwire/status.js";

function read(chunks: Buffer[], max = 1 << 20, encoding: Encoding = "identity"): { msgs: Buffer[]; errors: GrpcStatus[]; holdsPart: boolean } {
  const msgs: Buffer[] = [];
  const errors: GrpcStatus[] = [];
  const r = new MessageReader(max, encoding, (m) => msgs.push(Buffer.from(m)), (e) => errors.push(e));
  for (const c of chunks) r.push(c);
  return { msgs, errors, holdsPart: r.holdsPart };
}

function cut(b: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(b.subarray(prev, p));
    prev = p;
  }
  out.push(b.subarray(prev));
  return out;
}

describe("MessageReader", () => {
  test("any cut of any messages gives the same messages, in order", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (payloads, at) => {
        const wire = Buffer.concat(payloads.map((p) => frameMessage(Buffer.from(p))));
        const got = read(cut(wire, at));
        assert.deepEqual(got.errors, []);
        assert.deepEqual(got.msgs.map((m) => [...m]), payloads.map((p) => [...p]));
        assert.equal(got.holdsPart, false);
      }),
    );
  });

  test("a message sent one byte per DATA frame holds its bytes, not an object per byte", () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const got: number[] = [];
    const r = new MessageReader(4 << 20, "identity", (m) => got.push(m.length), () => assert.fail("no error"));
    const wire = frameMessage(Buffer.alloc(1 << 20, 7));
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < wire.length - 1; i++) r.push(wire.subarray(i, i + 1));
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 16 << 20, `the heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB holding 1 MiB`);
    r.push(wire.subarray(wire.length - 1));
    assert.deepEqual(got, [1 << 20]);
  });

  test("a length over the limit is refused from the prefix alone, with grpc-go's status", () => {
    const prefix = Buffer.from([0, 0, 0x10, 0, 1]); // 1 MiB + 1 announced, nothing of it sent
    const got = read([prefix], 1 << 20);
    assert.deepEqual(got.errors, [{ code: 8, message: "grpc: received message larger than max (1048577 vs. 1048576)" }]);
    assert.equal(got.holdsPart, false, "nothing held");
  });

  test("after an error nothing more is delivered", () => {
    const got = read([Buffer.concat([Buffer.from([2, 0, 0, 0, 1, 9]), frameMessage(Buffer.from("x"))])]);
    assert.deepEqual(got.errors, [{ code: 13, message: "grpc: received unexpected payload format 2" }]);
    assert.deepEqual(got.msgs, []);
  });

  test("a stream that ends mid-message holds a part", () => {
    assert.equal(read([frameMessage(Buffer.from("hello")).subarray(0, 7)]).holdsPart, true);
    assert.equal(read([Buffer.from([0, 0])]).holdsPart, true);
  });

  test("compressed messages: gzip inflates (bounded by the limit); identity with the flag set is grpc-go's error", () => {
    const z = gzipSync(Buffer.from("compressed!"));
    const framed = Buffer.concat([Buffer.from([1]), Buffer.alloc(4), z]);
    framed.writeUInt32BE(z.length, 1);
    assert.deepEqual(read([framed], 1 << 20, "gzip").msgs.map(String), ["compressed!"]);
    assert.deepEqual(read([framed], 1 << 20, "identity").errors, [{ code: 13, message: "grpc: compressed flag set with identity or empty encoding" }]);
    const bomb = gzipSync(Buffer.alloc(2 << 20));
    const bombFramed = Buffer.concat([Buffer.from([1]), Buffer.alloc(4), bomb]);
    bombFramed.writeUInt32BE(bomb.length, 1);
    const got = read([bombFramed], 1 << 20, "gzip");
    assert.equal(got.errors[0]?.code, 8);
    assert.match(got.errors[0]!.message, /^grpc: received message after decompression larger than max/);
  });

  test("grpc-encoding: identity or gzip; anything else is grpc-go's Unimplemented", () => {
    assert.equal(encodingOf(undefined), "identity");
    assert.equal(encodingOf("identity"), "identity");
    assert.equal(encodingOf("gzip"), "gzip");
    assert.deepEqual(encodingOf("snappy"), { code: 12, message: 'grpc: Decompressor is not installed for grpc-encoding "snappy"' });
  });
});
