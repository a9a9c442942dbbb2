/**
 * The load generator's own gRPC client, the pure parts: HPACK integers and blocks, frame cutting, status
 * mapping, request templates, the round-robin pick, load shapes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import hpack from "hpack.js";
import { status } from "@grpc/grpc-js";
import { clientConstructor } from "../../server/api/proto/load.js";
import { UsageError } from "../../bench/args.js";
import { BalancedConnection } from "../../bench/h2/balanced.js";
import { frameMessage } from "../../bench/h2/channel.js";
import { FrameReader, FrameSizeError, FrameType, writeFrameHeader, type Frame } from "../../bench/h2/frames.js";
import { codeOfHttpStatus, codeOfReset, statusOf } from "../../bench/h2/grpc-call.js";
import { decodeStateless, encodeHeaderBlock, encodeInteger, HeaderDecoder, HpackError } from "../../bench/h2/hpack.js";
import { errorKind } from "../../bench/etcd-client.js";
import { keyOf } from "../../bench/keys.js";
import { fixedRequest, keyedRequest } from "../../bench/kv-requests.js";
import { parseShapes } from "../../bench/shapes.js";

test("HPACK integers as RFC 7541 C.1 gives them", () => {
  assert.deepEqual(encodeInteger(10, 5, 0), [10]);
  assert.deepEqual(encodeInteger(1337, 5, 0), [31, 154, 10]);
  assert.deepEqual(encodeInteger(42, 8, 0), [42]);
  assert.deepEqual(encodeInteger(58, 4, 0), [15, 43]);
});

test("request header blocks decode (with a full table too) to the fields given", () => {
  const fields: [string, string][] = [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", "/etcdserverpb.KV/Put"],
    [":authority", "127.0.0.1:2379"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ["grpc-timeout", "5000m"],
    ["user-agent", "x".repeat(300)],
  ];
  const block = encodeHeaderBlock(fields);
  assert.deepEqual(decodeStateless(block), Object.fromEntries(fields));
  const d = hpack.decompressor.create({ table: { maxSize: 4096 } });
  d.write(block);
  d.execute();
  const got: [string, string][] = [];
  for (let f = d.read(); f; f = d.read()) got.push([f.name, f.value]);
  assert.deepEqual(got, fields);
});

test("answers: Huffman-coded blocks decode, are kept by their bytes, and a dynamic-table reference is refused", () => {
  const c = (hpack as unknown as { compressor: { create(o: object): { write(h: object[]): void; read(): Buffer } } }).compressor.create({ table: { maxSize: 4096 } });
  c.write([
    { name: ":status", value: "200" },
    { name: "grpc-status", value: "3" },
    { name: "grpc-message", value: "etcdserver: key is not provided %C3%BC" },
  ]);
  const block = c.read();
  const dec = new HeaderDecoder();
  const h = dec.decode(block);
  assert.equal(h["grpc-status"], "3");
  assert.equal(dec.decode(Buffer.from(block)), h, "the second decode of the same bytes is the memo");
  assert.throws(() => decodeStateless(Buffer.from([0x80 | 62])), HpackError, "index 62 is the dynamic table, which is 0 bytes");
  const err = statusOf({ ":status": "200" }, h)!;
  assert.equal(err.code, status.INVALID_ARGUMENT);
  assert.equal(err.details, "etcdserver: key is not provided ü");
  assert.equal(errorKind(err), "INVALID_ARGUMENT: etcdserver: key is not provided ü");
});

test("statuses without grpc-status and resets map as gRPC's clients map them", () => {
  assert.equal(statusOf({ ":status": "200" }, { "grpc-status": "0" }), null);
  assert.equal(statusOf({ ":status": "503" }, { ":status": "503" })!.code, status.UNAVAILABLE);
  assert.equal(codeOfHttpStatus(404), status.UNIMPLEMENTED);
  assert.equal(codeOfHttpStatus(500), status.UNKNOWN);
  assert.equal(statusOf({ ":status": "200" }, {})!.code, status.UNKNOWN);
  assert.equal(statusOf({ ":status": "200" }, { "grpc-status": "99" })!.code, status.UNKNOWN);
  assert.equal(codeOfReset(7), status.UNAVAILABLE);
  assert.equal(codeOfReset(8), status.CANCELLED);
  assert.equal(codeOfReset(2), status.INTERNAL);
});

test("frames cut from bytes arriving one at a time, or all at once, are the same", () => {
  const frames: Buffer[] = [];
  for (const [type, len] of [[FrameType.HEADERS, 5], [FrameType.DATA, 0], [FrameType.DATA, 40_000], [FrameType.PING, 8]] as const) {
    const b = Buffer.alloc(9 + len, len % 251);
    writeFrameHeader(b, 0, len, type, 1, 3);
    frames.push(b);
  }
  const all = Buffer.concat(frames);
  const collect = (chunks: Buffer[]) => {
    const got: { type: number; len: number; first: number | undefined }[] = [];
    const r = new FrameReader(1 << 20, (f: Frame) => got.push({ type: f.type, len: f.payload.length, first: f.payload[0] }));
    for (const c of chunks) r.push(c);
    return got;
  };
  const whole = collect([all]);
  assert.equal(whole.length, 4);
  assert.deepEqual(collect(Array.from(all, (b) => Buffer.from([b]))), whole);
  assert.deepEqual(collect([all.subarray(0, 4), all.subarray(4, 30_000), all.subarray(30_000)]), whole);
  assert.throws(() => new FrameReader(16_384, () => {}).push(all), FrameSizeError, "a 40,000-byte frame above a 16,384 limit");
});

test("request templates: the bytes of requestSerialize for each key, without serializing per request", () => {
  const put = clientConstructor("etcdserverpb", "KV").service.Put!.requestSerialize as (o: object) => Buffer;
  const value = Buffer.from("v".repeat(300));
  const req = keyedRequest("Put", (key) => ({ key, value }), "bench/ab/put/", 8, 100_000);
  for (const i of [0, 7, 99_999, 12_345]) assert.deepEqual(req(i), frameMessage(put({ key: keyOf("bench/ab/put/", i, 8), value })));
  // Indexes wider than --key-size give longer keys: serialized each time, still the same bytes.
  const wide = keyedRequest("Put", (key) => ({ key, value }), "p/", 2, 1000);
  assert.deepEqual(wide(999), frameMessage(put({ key: keyOf("p/", 999, 2), value })));
  const range = clientConstructor("etcdserverpb", "KV").service.Range!.requestSerialize as (o: object) => Buffer;
  assert.deepEqual(fixedRequest("Range", { key: Buffer.from("a"), limit: 5 }), frameMessage(range({ key: Buffer.from("a"), limit: 5 })));
});

test("a connection sends each request to the next member, skipping one it cannot reach", () => {
  const c = new BalancedConnection(["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"], { timeoutMs: 1000 }, 1);
  try {
    assert.deepEqual(Array.from({ length: 6 }, () => c.pick().port), [2, 3, 1, 2, 3, 1]);
    Object.defineProperty(c.channels[2]!, "healthy", { get: () => false });
    assert.deepEqual(Array.from({ length: 4 }, () => c.pick().port), [2, 1, 2, 1]);
  } finally {
    c.close();
  }
});

test("load shapes: --clients and --conns paired, one --conns for all, one connection per ten clients by default", () => {
  assert.deepEqual(parseShapes(undefined, undefined, [1, 100]), [{ conns: 1, clients: 1 }, { conns: 10, clients: 100 }]);
  assert.deepEqual(parseShapes(["2"], ["16", "32"], [1]), [{ conns: 2, clients: 16 }, { conns: 2, clients: 32 }]);
  assert.deepEqual(parseShapes(["1", "4"], ["1", "40"], [1]), [{ conns: 1, clients: 1 }, { conns: 4, clients: 40 }]);
  assert.deepEqual(parseShapes(3, 9, [1]), [{ conns: 3, clients: 9 }]);
  assert.throws(() => parseShapes(["1", "2", "3"], ["1", "2"], [1]), UsageError);
  assert.throws(() => parseShapes(undefined, ["5", "5"], [1]), /given twice/);
  assert.throws(() => parseShapes(undefined, ["0"], [1]), /--clients must be an integer >= 1, got 0/);
});
