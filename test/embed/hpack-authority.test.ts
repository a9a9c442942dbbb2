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
  hasUnacceptableAuthority,
  huffmanDecode,
  huffmanEncode,
  isAcceptableAuthority,
  rewriteAuthority,
  sanitizeAuthority,
} from "../../server/embed/hpack-authority.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const b = (s: string) => Buffer.from(s, "latin1");
const str = (s: string, huffman = false) => encodeString(b(s), huffman);
const cat = (...parts: (Buffer | number[])[]) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));

/** The block the etcdctl 3.4 (grpc-go) of this machine sends for `endpoint status` with --endpoints=http://127.0.0.1:23799. */
const ETCDCTL_BLOCK = hex(
  "8386459760a924882d9dcb6571afa066a925a87510ac6e48d36a3f41909d29aee30c044eae05c0b86e09975f7f5f8b1d75d0620d263d4c4d65647a8b9acac8b4c7602bb2caecff40027465864d833505b11f40899acac8b24d494f6a7f8669c7da6416ff408d25062d495875996ee5b1063d5f03332e34",
);

describe("hpack-authority: RFC 7541 primitives", () => {
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

describe("hpack-authority: finding and rewriting :authority", () => {
  test("the authority check is nghttp2's: host:port, IPv6, userinfo-free; '/', '@', space refused", () => {
    for (const ok of ["127.0.0.1:2379", "localhost", "[::1]:2379", "a-b.c_d~e:1", ""]) assert.ok(isAcceptableAuthority(b(ok)), ok);
    for (const bad of ["http://127.0.0.1:2379", "h/p", "user@host", "a b", "é"]) assert.ok(!isAcceptableAuthority(b(bad)), bad);
    assert.equal(sanitizeAuthority(b("http://127.0.0.1:2379")).toString(), "http:__127.0.0.1:2379");
  });

  test("etcdctl's block: found (Huffman value), rewritten to the same header list with the value sanitized", () => {
    assert.equal(hasUnacceptableAuthority(ETCDCTL_BLOCK, new HpackTable()), true);
    const original = decodeHeaderBlock(ETCDCTL_BLOCK, new HpackTable());
    assert.deepEqual(original.find(([n]) => n === ":authority"), [":authority", "http://127.0.0.1:23799"]);
    const r = rewriteAuthority(ETCDCTL_BLOCK, new HpackTable());
    assert.equal(r.changed, true);
    assert.equal(hasUnacceptableAuthority(r.block, new HpackTable()), false);
    assert.deepEqual(decodeHeaderBlock(r.block, new HpackTable()), original.map(([n, v]) => [n, n === ":authority" ? "http:__127.0.0.1:23799" : v]));
  });

  test("a clean block is left alone: the same Buffer, not changed", () => {
    const block = cat([0x83, 0x86, 0x44], str("/etcdserverpb.KV/Range", true), [0x41], str("127.0.0.1:2379", true));
    assert.equal(hasUnacceptableAuthority(block, new HpackTable()), false);
    const r = rewriteAuthority(block, new HpackTable());
    assert.equal(r.changed, false);
    assert.equal(r.block, block);
  });

  /**
   * Every way a field can be :authority (static name index with each literal kind, a literal name raw or Huffman,
   * the name of an earlier dynamic entry, an indexed reference to an earlier entry), in blocks sent one after the
   * other on one connection with a small table (evictions): after each block, the decoder of the rewritten bytes
   * (nghttp2's view) has the header list of the original with sanitized authorities and a table of the same sizes.
   */
  test("every representation of :authority, over several blocks with evictions: lists and tables stay in step", () => {
    const bad = "http://10.0.0.1:2379";
    const blocks: Buffer[] = [
      // size update to 200 octets; incremental indexing, static name (0x41), Huffman value
      cat([0x3f, 0xa9, 0x01], [0x83, 0x86, 0x84, 0x41], str(bad, true), [0x7a], str("grpc-go/1.26")),
      // indexed reference to the dynamic entry added above (62 = newest is user-agent, 63 = :authority)
      cat([0x83, 0x86, 0x84, 0xbf], [0xbe]),
      // without indexing, static name (0x01), raw value; never indexed (0x11), Huffman value
      cat([0x83, 0x86, 0x84, 0x01], str(bad), [0x1f, 0x2b], str("x")),
      cat([0x83, 0x86, 0x84, 0x11], str(bad + "/", true)),
      // literal names: incremental indexing with ":authority" raw, then without indexing with it Huffman-coded
      cat([0x83, 0x86, 0x84, 0x40], str(":authority"), str("https://e.example:1", true)),
      cat([0x83, 0x86, 0x84, 0x00], str(":authority", true), str("a b")),
      // name from a dynamic entry (62: the :authority added two blocks up is the newest), a new bad value, indexed
      cat([0x83, 0x86, 0x84, 0x7e], str("http://[::1]:2379")),
      // more insertions than the table holds: the oldest entries go, on both sides alike
      cat([0x83, 0x86, 0x84, 0x41], str(bad.replace("1:", "2:"), true), [0x41], str("ok:1"), [0x58], str("no-cache")),
      cat([0x83, 0x86, 0x84, 0xbe, 0xbf, 0xc0]),
    ];
    const client = new HpackTable(); // what the client's encoder has (decoding what it sent)
    const server = new HpackTable(); // what nghttp2 has (decoding what the rewriter sends)
    const rewriterTable = new HpackTable();
    let changedBlocks = 0;
    for (const [i, block] of blocks.entries()) {
      const sent = decodeHeaderBlock(block, client);
      const r = rewriteAuthority(block, rewriterTable);
      if (r.changed) changedBlocks++;
      const received = decodeHeaderBlock(r.block, server);
      const expected = sent.map(([n, v]) => [n, n === ":authority" ? sanitizeAuthority(b(v)).toString("latin1") : v]);
      assert.deepEqual(received, expected, `block ${i}`);
      assert.ok(received.filter(([n]) => n === ":authority").every(([, v]) => isAcceptableAuthority(b(v))), `block ${i}: all authorities acceptable`);
      assert.equal(server.octets, client.octets, `block ${i}: table sizes`);
      assert.deepEqual(server.dump().map(([n, v]) => [n, v.length]), client.dump().map(([n, v]) => [n, v.length]), `block ${i}: entries`);
      assert.deepEqual(rewriterTable.dump(), client.dump(), `block ${i}: the rewriter follows the client's table`);
    }
    assert.equal(changedBlocks, 7, "the two blocks of indexed references only need no change");
    assert.ok(client.dump().length < 6, "the table did evict");
  });

  test("a bad :authority behind a name that only looks like it is not touched", () => {
    const block = cat([0x40], str(":authorityx"), str("http://x"), [0x40], str("x-authority"), str("a/b"));
    assert.equal(hasUnacceptableAuthority(block, new HpackTable()), false);
    assert.equal(rewriteAuthority(block, new HpackTable()).changed, false);
  });
});
