import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  HUFFMAN_CODES,
  HpackError,
  HpackTable,
  decodeHeaderBlock,
  decodeInteger,
  encodeInteger,
  encodeString,
  decodeHeaderList,
  encodeFields,
  huffmanDecode,
  huffmanEncode,
} from "../../server/grpcwire/h2/hpack.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const b = (s: string) => Buffer.from(s, "latin1");
const str = (s: string, huffman = false) => encodeString(b(s), huffman);
const cat = (...parts: (Buffer | number[])[]) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));

/** The block the etcdctl 3.4 (grpc-go) of this machine sends for `endpoint status` with --endpoints=http://127.0.0.1:23799. */
const ETCDCTL_BLOCK = hex(
  "8386459760a924882d9dcb6571afa066a925a87510ac6e48d36a3f41909d29aee30c044eae05c0b86e09975f7f5f8b1d75d0620d263d4c4d65647a8b9acac8b4c7602bb2caecff40027465864d833505b11f40899acac8b24d494f6a7f8669c7da6416ff408d25062d495875996ee5b1063d5f03332e34",
);

describe("hpack: RFC 7541 primitives", () => {
  test("the Huffman code built from the lengths is RFC 7541 Appendix B's (spot checks), complete and prefix-free", () => {
    const rfc: [number, number, number][] = [
      [0, 0x1ff8, 13], [1, 0x7fffd8, 23], [2, 0xfffffe2, 28], [9, 0xffffea, 24], [10, 0x3ffffffc, 30], [13, 0x3ffffffd, 30],
      [22, 0x3ffffffe, 30], [32, 0x14, 6], [48, 0x0, 5], [58, 0x5c, 7], [97, 0x3, 5], [122, 0x7b, 7], [127, 0xffffffc, 28],
      [128, 0xfffe6, 20], [255, 0x3ffffee, 26], [256, 0x3fffffff, 30],
    ];
    for (const [sym, code, len] of rfc) assert.deepEqual(HUFFMAN_CODES[sym], [code, len], `symbol ${sym}`);
    let kraft = 0;
    for (const [, len] of HUFFMAN_CODES) kraft += 2 ** -len;
    assert.equal(kraft, 1);
  });

  test("Huffman: RFC 7541 C.4 strings, every byte value round trip, and the padding rules", () => {
    assert.equal(huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff")).toString(), "www.example.com");
    assert.equal(huffmanDecode(hex("a8eb 1064 9cbf")).toString(), "no-cache");
    assert.equal(huffmanDecode(hex("25a8 49e9 5ba9 7d7f")).toString(), "custom-key");
    assert.equal(huffmanDecode(hex("25a8 49e9 5bb8 e8b4 bf")).toString(), "custom-value");
    assert.ok(huffmanEncode(b("www.example.com")).equals(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff")));
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    assert.ok(huffmanDecode(huffmanEncode(all)).equals(all));
    assert.equal(huffmanDecode(Buffer.alloc(0)).length, 0);
    assert.throws(() => huffmanDecode(hex("ffffffff")), HpackError, "EOS (30 ones) inside the string");
    assert.throws(() => huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff ff")), HpackError, "padding longer than 7 bits");
    assert.throws(() => huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4fe")), HpackError, "padding not all ones");
  });

  test("integers: RFC 7541 C.1", () => {
    assert.deepEqual([...encodeInteger(10, 5, 0)], [0x0a]);
    assert.deepEqual([...encodeInteger(1337, 5, 0)], [0x1f, 0x9a, 0x0a]);
    assert.deepEqual([...encodeInteger(42, 8, 0)], [0x2a]);
    assert.deepEqual([...encodeInteger(58, 4, 0x00)], [0x0f, 0x2b]);
    assert.deepEqual(decodeInteger(hex("e0 1f9a0a"), 1, 5), { value: 1337, next: 4 });
    for (const v of [0, 14, 15, 16, 127, 128, 4096, 2 ** 28]) for (const p of [4, 5, 6, 7]) assert.equal(decodeInteger(encodeInteger(v, p, 0), 0, p).value, v);
    assert.throws(() => decodeInteger(hex("1f9a"), 0, 5), HpackError, "truncated");
    assert.throws(() => decodeInteger(hex("1fffffffffff0f"), 0, 5), HpackError, "too large");
  });

  // RFC 7541 C.3 (no Huffman) and C.4 (Huffman): three requests on one connection, the dynamic table after each.
  const requests: [string, string, [string, string][], [string, string][], number][] = [
    ["8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
      [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"]],
      [[":authority", "www.example.com"]], 57],
    ["8286 84be 5808 6e6f 2d63 6163 6865", "8286 84be 5886 a8eb 1064 9cbf",
      [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"], ["cache-control", "no-cache"]],
      [["cache-control", "no-cache"], [":authority", "www.example.com"]], 110],
    ["8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65", "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
      [[":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [":authority", "www.example.com"], ["custom-key", "custom-value"]],
      [["custom-key", "custom-value"], ["cache-control", "no-cache"], [":authority", "www.example.com"]], 164],
  ];
  for (const [variant, col] of [["C.3 raw", 0], ["C.4 Huffman", 1]] as const) {
    test(`decoding RFC 7541 ${variant} requests: the header lists and the dynamic table after each`, () => {
      const t = new HpackTable();
      for (const r of requests) {
        assert.deepEqual(decodeHeaderBlock(hex(r[col]), t), r[2]);
        assert.deepEqual(t.dump(), r[3]);
        assert.equal(t.octets, r[4]);
      }
    });
  }

  test("decoding RFC 7541 C.5 responses (table of 256 octets): evictions as in the RFC", () => {
    const t = new HpackTable(256);
    const date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
    const date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
    const loc = "https://www.example.com";
    const cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
    assert.deepEqual(
      decodeHeaderBlock(hex("4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"), t),
      [[":status", "302"], ["cache-control", "private"], ["date", date1], ["location", loc]],
    );
    assert.deepEqual(t.dump(), [["location", loc], ["date", date1], ["cache-control", "private"], [":status", "302"]]);
    assert.equal(t.octets, 222);
    assert.deepEqual(decodeHeaderBlock(hex("4803 3330 37c1 c0bf"), t), [[":status", "307"], ["cache-control", "private"], ["date", date1], ["location", loc]]);
    assert.deepEqual(t.dump(), [[":status", "307"], ["location", loc], ["date", date1], ["cache-control", "private"]]);
    assert.equal(t.octets, 222);
    assert.deepEqual(
      decodeHeaderBlock(hex("88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31"), t),
      [[":status", "200"], ["cache-control", "private"], ["date", date2], ["location", loc], ["content-encoding", "gzip"], ["set-cookie", cookie]],
    );
    assert.deepEqual(t.dump(), [["set-cookie", cookie], ["content-encoding", "gzip"], ["date", date2]]);
    assert.equal(t.octets, 215);
  });

  test("bad blocks: index 0, an index past the table, truncated strings", () => {
    assert.throws(() => decodeHeaderBlock(hex("80"), new HpackTable()), HpackError);
    assert.throws(() => decodeHeaderBlock(hex("be"), new HpackTable()), HpackError, "62 with an empty dynamic table");
    assert.throws(() => decodeHeaderBlock(hex("4103 6162"), new HpackTable()), HpackError);
  });
});

describe("hpack: what the server's decoder bounds, and what it encodes", () => {
  test("etcdctl 3.4's block: every field, :authority as sent", () => {
    const list = decodeHeaderBlock(ETCDCTL_BLOCK, new HpackTable());
    const authority = list.find(([n]) => n === ":authority")?.[1];
    assert.equal(authority, "http://127.0.0.1:23799");
    assert.equal(list.find(([n]) => n === ":path")?.[1], "/etcdserverpb.Maintenance/Status");
  });

  test("a table size update over the advertised size, or after a field, is an error (RFC 7541 §4.2, §6.3)", () => {
    const t = new HpackTable(4096);
    assert.throws(() => decodeHeaderBlock(cat([0x3f, 0xe2, 0x1f]), t), HpackError, "4097 > 4096");
    assert.deepEqual(decodeHeaderBlock(cat([0x3f, 0xe1, 0x1f, 0x82]), t), [[":method", "GET"]], "4096 is allowed");
    assert.throws(() => decodeHeaderBlock(cat([0x82, 0x20]), new HpackTable()), HpackError);
  });

  test("a list over the bound: undefined, and the table still follows every literal of the block", () => {
    const block = cat([0x40], str("x-big"), str("v".repeat(500)), [0x40], str("x-after"), str("1"));
    const t = new HpackTable();
    assert.equal(decodeHeaderList(block, t, 100), undefined);
    assert.deepEqual(t.dump(), [["x-after", "1"], ["x-big", "v".repeat(500)]]);
    const u = new HpackTable();
    assert.deepEqual(decodeHeaderList(block, u, 10_000), [["x-big", "v".repeat(500)], ["x-after", "1"]]);
  });

  test("indexed references cannot multiply a small block past the bound unnoticed", () => {
    const t = new HpackTable();
    decodeHeaderBlock(cat([0x40], str("x-big"), str("v".repeat(3000))), t);
    const refs = Buffer.alloc(1000, 0xbe); // index 62, a thousand times: 3 MB of fields from 1 KB
    assert.equal(decodeHeaderList(refs, t, 64 * 1024), undefined);
  });

  test("encodeFields: literals without indexing (no table change on the client), :status 200 as index 8", () => {
    const fields: [string, string][] = [[":status", "200"], ["content-type", "application/grpc"], ["grpc-status", "13"], ["grpc-message", "a%20b"]];
    const block = encodeFields(fields);
    assert.equal(block[0], 0x88);
    const t = new HpackTable();
    assert.deepEqual(decodeHeaderBlock(block, t), fields);
    assert.deepEqual(t.dump(), [], "nothing added to the decoder's table");
  });
});
