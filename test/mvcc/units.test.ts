/** The mvcc building blocks: row encoding, CRC-32C, the ordered key set, per-key history. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { crc32c, Crc32c } from "../../server/mvcc/crc32c.js";
import { KeyIndex } from "../../server/mvcc/key-index.js";
import { decodeKeyValue, encodeKeyValue, encodeTombstone } from "../../server/mvcc/kv-codec.js";
import { bytesToMain, bytesToSub, isTombstoneKey, mainRevPrefix, revId, revToBytes } from "../../server/mvcc/revision.js";
import { SortedKeys } from "../../server/mvcc/sorted-keys.js";

describe("revision keys", () => {
  it("are etcd's 8-byte main, '_', 8-byte sub (+ 't' for a tombstone), ordered like revisions", () => {
    assert.equal(revToBytes(1, 2).toString("hex"), "00000000000000015f0000000000000002");
    assert.equal(revToBytes(2 ** 40 + 5, 0, true).toString("hex"), "00000100000000055f000000000000000074");
    const k = revToBytes(123456789012, 77);
    assert.deepEqual([bytesToMain(k), bytesToSub(k), isTombstoneKey(k)], [123456789012, 77, false]);
    assert.ok(isTombstoneKey(revToBytes(3, 0, true)));
    assert.ok(Buffer.compare(revToBytes(3, 9, true), revToBytes(4, 0)) < 0);
    assert.ok(Buffer.compare(revToBytes(3, 0), revToBytes(3, 0, true)) < 0);
    assert.ok(Buffer.compare(revToBytes(4, 0), mainRevPrefix(4)) > 0);
    assert.ok(Buffer.compare(revToBytes(3, 2 ** 40), mainRevPrefix(4)) < 0);
    assert.equal(revId(7, 1), revToBytes(7, 1).toString("latin1"));
  });
});

describe("KeyValue encoding", () => {
  it("is gogo-protobuf's: fields in order, zero values omitted", () => {
    const kv = { key: Buffer.from("foo"), value: Buffer.from("bar"), createRevision: 2, modRevision: 300, version: 1, lease: 0n };
    // 0a 03 'foo' | 10 02 | 18 ac 02 | 20 01 | 2a 03 'bar'
    assert.equal(encodeKeyValue(kv).toString("hex"), "0a03666f6f100218ac022001" + "2a03626172");
    assert.equal(encodeTombstone(Buffer.from("k")).toString("hex"), "0a016b");
  });

  it("round-trips big revisions and negative / huge leases exactly", () => {
    for (const kv of [
      { key: Buffer.from("k"), value: Buffer.alloc(0), createRevision: 2 ** 53 - 1, modRevision: 2 ** 40, version: 3, lease: 0n },
      { key: Buffer.from([0, 255]), value: Buffer.alloc(300, 7), createRevision: 1, modRevision: 1, version: 1, lease: -1n },
      { key: Buffer.from("x"), value: Buffer.from("y"), createRevision: 127, modRevision: 128, version: 16384, lease: 2n ** 63n - 1n },
      { key: Buffer.from("x"), value: Buffer.from("y"), createRevision: 5, modRevision: 6, version: 1, lease: -(2n ** 63n) },
    ]) {
      const back = decodeKeyValue(encodeKeyValue(kv));
      assert.deepEqual({ ...back, key: [...back.key], value: [...back.value] }, { ...kv, key: [...kv.key], value: [...kv.value] });
    }
    // a negative lease is a 10-byte varint, as Go encodes int64
    assert.equal(encodeKeyValue({ key: Buffer.from("k"), value: Buffer.alloc(0), createRevision: 0, modRevision: 0, version: 0, lease: -1n }).length, 3 + 11);
  });

  it("skips unknown fields and rejects truncation", () => {
    const withUnknown = Buffer.concat([encodeKeyValue({ key: Buffer.from("k"), value: Buffer.from("v"), createRevision: 1, modRevision: 1, version: 1, lease: 0n }), Buffer.from([0x38, 0x05])]);
    assert.equal(decodeKeyValue(withUnknown).value.toString(), "v");
    assert.throws(() => decodeKeyValue(Buffer.from([0x0a, 0x05, 0x41])));
  });
});

describe("CRC-32C", () => {
  it("matches the Castagnoli check value and is incremental", () => {
    assert.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31) & 255));
    assert.equal(new Crc32c().update(data.subarray(0, 3)).update(data.subarray(3, 517)).update(data.subarray(517)).digest(), crc32c(data));
  });
});

describe("SortedKeys", () => {
  it("stays ordered through random inserts and deletes (chunk splits and merges)", () => {
    const s = new SortedKeys<{ key: string }>();
    const ref = new Set<string>();
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 20000; i++) {
      const k = Math.floor(rnd() * 5000).toString(36);
      if (rnd() < 0.7) {
        if (!ref.has(k)) {
          s.insert({ key: k });
          ref.add(k);
        }
      } else {
        assert.equal(s.delete(k), ref.delete(k));
      }
    }
    const sorted = [...ref].sort();
    const got: string[] = [];
    s.forEach((it) => got.push(it.key));
    assert.deepEqual(got, sorted);
    assert.equal(s.size, ref.size);
    // bounded scans
    const lo = sorted[100]!;
    const hi = sorted[900]!;
    const scan: string[] = [];
    s.forRange(lo, hi, (it) => void scan.push(it.key));
    assert.deepEqual(scan, sorted.slice(100, 900));
    const excl: string[] = [];
    s.forRange(lo, undefined, (it) => excl.push(it.key) < 3, true);
    assert.deepEqual(excl, sorted.slice(101, 104));
    assert.equal(s.get(lo)?.key, lo);
    assert.equal(s.get(lo + "\0"), undefined);
  });
});

describe("KeyIndex (etcd's keyIndex)", () => {
  // put@2 put@4 tombstone@6 put@8 put@10 tombstone@12 put@14.0 put@14.1 put@16
  const build = () => {
    const ki = new KeyIndex("foo");
    ki.put(2, 0);
    ki.put(4, 0);
    ki.tombstone(6, 0);
    ki.put(8, 0);
    ki.put(10, 0);
    ki.tombstone(12, 0);
    ki.put(14, 0);
    ki.put(14, 1);
    ki.put(16, 0);
    return ki;
  };

  it("get: the newest revision at or below a revision, its generation's creation and version", () => {
    const ki = build();
    const g = (rev: number) => {
      const r = ki.get(rev);
      return r ? [r.main, r.sub, r.createdMain, r.version] : null;
    };
    assert.equal(g(1), null);
    assert.deepEqual(g(2), [2, 0, 2, 1]);
    assert.deepEqual(g(5), [4, 0, 2, 2]);
    assert.equal(g(6), null);
    assert.equal(g(7), null);
    assert.deepEqual(g(9), [8, 0, 8, 1]);
    assert.deepEqual(g(11), [10, 0, 8, 2]);
    assert.equal(g(12), null);
    assert.equal(g(13), null);
    assert.deepEqual(g(14), [14, 1, 14, 2]);
    assert.deepEqual(g(15), [14, 1, 14, 2]);
    assert.deepEqual(g(100), [16, 0, 14, 3]);
  });

  it("since: one revision per main (the last sub), from the generation covering rev", () => {
    const ki = build();
    assert.deepEqual(
      ki.since(1).map((r) => `${r.main}.${r.sub}`),
      ["2.0", "4.0", "6.0", "8.0", "10.0", "12.0", "14.1", "16.0"],
    );
    assert.deepEqual(
      ki.since(9).map((r) => `${r.main}.${r.sub}`),
      ["10.0", "12.0", "14.1", "16.0"],
    );
  });

  it("compact keeps the newest revision <= rev unless it is a tombstone (etcd's table)", () => {
    const cases: Array<[number, string[], string[]]> = [
      // [atRev, kept revIds, remaining generations]
      [1, [], ["2,4,6", "8,10,12", "14.0,14.1,16"]],
      [2, ["2"], ["2,4,6", "8,10,12", "14.0,14.1,16"]],
      [3, ["2"], ["2,4,6", "8,10,12", "14.0,14.1,16"]],
      [4, ["4"], ["4,6", "8,10,12", "14.0,14.1,16"]],
      [5, ["4"], ["4,6", "8,10,12", "14.0,14.1,16"]],
      [6, [], ["8,10,12", "14.0,14.1,16"]],
      [7, [], ["8,10,12", "14.0,14.1,16"]],
      [8, ["8"], ["8,10,12", "14.0,14.1,16"]],
      [11, ["10"], ["10,12", "14.0,14.1,16"]],
      [12, [], ["14.0,14.1,16"]],
      [14, ["14.1"], ["14.1,16"]],
      [16, ["16"], ["16"]],
    ];
    const id = (m: number, s: number) => (s ? `${m}.${s}` : `${m}`);
    for (const [at, kept, gens] of cases) {
      const ki = build();
      const available = new Set<string>();
      ki.compact(at, available, id);
      assert.deepEqual([...available].sort(), [...kept].sort(), `compact(${at}) kept`);
      assert.deepEqual(
        ki.gens.map((g) => g.mains().map((m, i) => id(m, g.subAt(i))).join(",")),
        gens.map((g) => g.replace(/14\.0/g, "14")),
        `compact(${at}) generations`,
      );
      const keep = new Set<string>();
      build().keep(at, keep, id);
      assert.deepEqual([...keep].sort(), [...kept].sort(), `keep(${at})`);
    }
  });

  it("compact/keep on a key ending with a tombstone (the table of etcd's TestKeyIndexCompactAndKeep)", () => {
    const build2 = () => {
      const ki = new KeyIndex("foo");
      ki.put(2, 0);
      ki.put(4, 0);
      ki.tombstone(6, 0);
      ki.put(8, 0);
      ki.put(10, 0);
      ki.tombstone(12, 0);
      ki.put(14, 0);
      ki.put(14, 1);
      ki.tombstone(16, 0);
      return ki;
    };
    const table: Array<[number, string[], string[]]> = [
      [1, [], ["2,4,6", "8,10,12", "14,14.1,16", ""]],
      [2, ["2"], ["2,4,6", "8,10,12", "14,14.1,16", ""]],
      [3, ["2"], ["2,4,6", "8,10,12", "14,14.1,16", ""]],
      [4, ["4"], ["4,6", "8,10,12", "14,14.1,16", ""]],
      [5, ["4"], ["4,6", "8,10,12", "14,14.1,16", ""]],
      [6, [], ["8,10,12", "14,14.1,16", ""]],
      [7, [], ["8,10,12", "14,14.1,16", ""]],
      [8, ["8"], ["8,10,12", "14,14.1,16", ""]],
      [9, ["8"], ["8,10,12", "14,14.1,16", ""]],
      [10, ["10"], ["10,12", "14,14.1,16", ""]],
      [11, ["10"], ["10,12", "14,14.1,16", ""]],
      [12, [], ["14,14.1,16", ""]],
      [13, [], ["14,14.1,16", ""]],
      [14, ["14.1"], ["14.1,16", ""]],
      [15, ["14.1"], ["14.1,16", ""]],
      [16, [], [""]],
    ];
    const id = (m: number, s: number) => (s ? `${m}.${s}` : `${m}`);
    for (const [at, kept, gens] of table) {
      const ki = build2();
      const available = new Set<string>();
      ki.compact(at, available, id);
      assert.deepEqual([...available].sort(), kept, `compact(${at}) kept`);
      assert.deepEqual(
        ki.gens.map((g) => g.mains().map((m, i) => id(m, g.subAt(i))).join(",")),
        gens,
        `compact(${at}) generations`,
      );
      const keep = new Set<string>();
      build2().keep(at, keep, id);
      assert.deepEqual([...keep].sort(), kept, `keep(${at})`);
    }
  });

  it("a key compacted past its last tombstone becomes empty", () => {
    const ki = new KeyIndex("k");
    ki.put(2, 0);
    ki.tombstone(3, 0);
    ki.compact(3, new Set(), (m) => String(m));
    assert.ok(ki.isEmpty());
  });

  it("rejects out-of-order puts and tombstones of a deleted key", () => {
    const ki = new KeyIndex("k");
    ki.put(5, 0);
    assert.throws(() => ki.put(5, 0));
    assert.throws(() => ki.put(4, 9));
    assert.equal(ki.tombstone(6, 0), true);
    assert.equal(ki.tombstone(7, 0), false);
  });
});
