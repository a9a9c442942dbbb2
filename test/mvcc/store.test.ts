/** MVCC store semantics, scenario by scenario (etcd 3.4's mvcc package behaviour). */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ErrCompacted, ErrFutureRev } from "../../server/mvcc/errors.js";
import { EventType, type Event } from "../../server/pb/kv.js";
import { B, FROM_KEY, NONE, S, kvPlain, openTempStore, type TempStore } from "./helpers.js";

const stores: TempStore[] = [];
function fresh(): TempStore {
  const t = openTempStore();
  stores.push(t);
  return t;
}
after(async () => {
  for (const t of stores) await t.destroy().catch(() => undefined);
});

const put = (t: TempStore, ci: number, ...kvs: Array<[string, string]>) =>
  t.store.write(ci, (txn) => {
    for (const [k, v] of kvs) txn.put(B(k), B(v), 0n);
  });
const del = (t: TempStore, ci: number, key: string, end: Buffer | string = NONE) =>
  t.store.write(ci, (txn) => txn.deleteRange(B(key), typeof end === "string" ? B(end) : end).deleted.length);
const get = (t: TempStore, key: string, rev = 0) => t.store.range(B(key), NONE, { revision: rev }).kvs.map(kvPlain)[0];
const keys = (t: TempStore, key: string, end: Buffer | string, rev = 0) =>
  t.store.range(B(key), typeof end === "string" ? B(end) : end, { revision: rev }).kvs.map((kv) => S(kv.key));

describe("revisions", () => {
  it("the empty store is at revision 1; each write transaction takes the next one, its ops sub revisions", () => {
    const t = fresh();
    assert.equal(t.store.currentRevision(), 1);
    assert.equal(t.store.compactedRevision(), -1);
    put(t, 1, ["a", "1"], ["b", "2"], ["c", "3"]);
    assert.equal(t.store.currentRevision(), 2);
    assert.deepEqual(t.store.range(B("a"), FROM_KEY).kvs.map(kvPlain), [
      { key: "a", value: "1", create: 2, mod: 2, ver: 1, lease: 0n },
      { key: "b", value: "2", create: 2, mod: 2, ver: 1, lease: 0n },
      { key: "c", value: "3", create: 2, mod: 2, ver: 1, lease: 0n },
    ]);
    put(t, 2, ["a", "4"]);
    assert.equal(t.store.currentRevision(), 3);
  });

  it("a write transaction that writes nothing does not move the revision", () => {
    const t = fresh();
    put(t, 1, ["a", "1"]);
    const n = del(t, 2, "nope");
    assert.equal(n, 0);
    t.store.write(3, (txn) => txn.range(B("a"), NONE));
    assert.equal(t.store.currentRevision(), 2);
    assert.equal(t.store.consistentIndex(), 3);
  });

  it("a txn's range sees its own earlier writes at revision+1 (etcd's storeTxnWrite.Range)", () => {
    const t = fresh();
    put(t, 1, ["a", "1"]);
    t.store.write(2, (txn) => {
      assert.equal(txn.range(B("a"), NONE).rev, 2);
      txn.put(B("a"), B("2"), 0n);
      const r = txn.range(B("a"), NONE);
      assert.equal(r.rev, 3);
      assert.deepEqual(kvPlain(r.kvs[0]!), { key: "a", value: "2", create: 2, mod: 3, ver: 2, lease: 0n });
      assert.throws(() => txn.range(B("a"), NONE, { revision: 4 }), ErrFutureRev);
      txn.deleteRange(B("a"), NONE);
      assert.equal(txn.range(B("a"), NONE).count, 0);
      // reads through the store itself still see the committed state
      assert.equal(S(t.store.range(B("a"), NONE).kvs[0]!.value), "1");
    });
    assert.equal(t.store.currentRevision(), 3);
    assert.equal(get(t, "a"), undefined);
  });

  it("a write transaction whose callback throws leaves no trace (index, revision, backend)", async () => {
    const t = fresh();
    put(t, 1, ["a", "1"]);
    assert.throws(
      () =>
        t.store.write(2, (txn) => {
          txn.put(B("a"), B("2"), 0n);
          txn.put(B("new"), B("x"), 0n);
          txn.deleteRange(B("a"), NONE);
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(t.store.currentRevision(), 2);
    assert.deepEqual(get(t, "a"), { key: "a", value: "1", create: 2, mod: 2, ver: 1, lease: 0n });
    assert.equal(get(t, "new"), undefined);
    assert.equal(t.store.indexedKeys(), 1);
    put(t, 3, ["a", "3"]);
    assert.deepEqual(get(t, "a"), { key: "a", value: "3", create: 2, mod: 3, ver: 2, lease: 0n });
    assert.equal(t.store.consistentIndex(), 3);
    await t.reopen();
    assert.deepEqual(get(t, "a"), { key: "a", value: "3", create: 2, mod: 3, ver: 2, lease: 0n });
    assert.equal(get(t, "new"), undefined);
  });

  it("refuses async callbacks and nested write transactions", () => {
    const t = fresh();
    assert.throws(() => t.store.write(1, async () => undefined), /synchronous/);
    assert.throws(() => t.store.write(2, () => t.store.write(3, () => undefined)), /nested/);
    assert.equal(t.store.currentRevision(), 1);
  });
});

describe("versions, generations and tombstones", () => {
  it("version counts puts from 1 per generation; a delete ends it; a put recreates the key", () => {
    const t = fresh();
    put(t, 1, ["k", "a"]); // rev 2
    put(t, 2, ["k", "b"]); // rev 3
    put(t, 3, ["k", "c"]); // rev 4
    assert.deepEqual(get(t, "k"), { key: "k", value: "c", create: 2, mod: 4, ver: 3, lease: 0n });
    assert.equal(del(t, 4, "k"), 1); // rev 5
    assert.equal(get(t, "k"), undefined);
    put(t, 5, ["k", "d"]); // rev 6: a new generation
    assert.deepEqual(get(t, "k"), { key: "k", value: "d", create: 6, mod: 6, ver: 1, lease: 0n });
    // history stays readable
    assert.deepEqual(get(t, "k", 3), { key: "k", value: "b", create: 2, mod: 3, ver: 2, lease: 0n });
    assert.equal(get(t, "k", 5), undefined);
    assert.equal(get(t, "k", 1), undefined);
  });

  it("delete then put of the same key inside one transaction: new generation, same revision", () => {
    const t = fresh();
    put(t, 1, ["k", "a"], ["k2", "x"]);
    t.store.write(2, (txn) => {
      txn.deleteRange(B("k"), NONE);
      txn.put(B("k"), B("b"), 0n);
    });
    assert.deepEqual(get(t, "k"), { key: "k", value: "b", create: 3, mod: 3, ver: 1, lease: 0n });
    // put then delete in one transaction: deleted at that revision
    t.store.write(3, (txn) => {
      txn.put(B("k2"), B("y"), 0n);
      assert.equal(txn.deleteRange(B("k2"), NONE).deleted.length, 1);
    });
    assert.equal(get(t, "k2"), undefined);
    assert.deepEqual(get(t, "k2", 3), { key: "k2", value: "x", create: 2, mod: 2, ver: 1, lease: 0n });
  });

  it("deleting a deleted key deletes nothing", () => {
    const t = fresh();
    put(t, 1, ["k", "a"]);
    assert.equal(del(t, 2, "k"), 1);
    assert.equal(del(t, 3, "k"), 0);
    assert.equal(t.store.currentRevision(), 3);
  });
});

describe("range end rules and counts", () => {
  const t = fresh();
  put(t, 1, ["a", "1"], ["ab", "2"], ["abc", "3"], ["b", "4"], ["c", "5"], ["\xff", "6"]);

  it("empty rangeEnd is the single key", () => {
    assert.deepEqual(keys(t, "ab", NONE), ["ab"]);
    assert.deepEqual(keys(t, "zz", NONE), []);
  });
  it('rangeEnd "\\0" is every key >= key', () => {
    assert.deepEqual(keys(t, "ab", FROM_KEY), ["ab", "abc", "b", "c", "\xff"]);
    assert.deepEqual(keys(t, "\0", FROM_KEY), ["a", "ab", "abc", "b", "c", "\xff"]);
  });
  it("otherwise [key, rangeEnd), bytewise; rangeEnd <= key is empty", () => {
    assert.deepEqual(keys(t, "a", "b"), ["a", "ab", "abc"]);
    assert.deepEqual(keys(t, "ab", "ac"), ["ab", "abc"]);
    assert.deepEqual(keys(t, "b", "\xff"), ["b", "c"]);
    assert.deepEqual(keys(t, "b", "a"), []);
    assert.deepEqual(keys(t, "b", "b"), []);
  });
  it("limit cuts kvs but count is the whole range; countOnly returns no kvs", () => {
    const r = t.store.range(B("a"), FROM_KEY, { limit: 2 });
    assert.deepEqual(
      r.kvs.map((kv) => S(kv.key)),
      ["a", "ab"],
    );
    assert.equal(r.count, 6);
    assert.equal(r.rev, 2);
    const c = t.store.range(B("a"), B("b"), { countOnly: true });
    assert.deepEqual([c.kvs.length, c.count], [0, 3]);
    assert.deepEqual(t.store.range(B("a"), NONE, { countOnly: true }).count, 1);
  });
});

describe("past revisions, compaction", () => {
  it("reads at any revision >= the compacted one; below: ErrCompacted; above current: ErrFutureRev", async () => {
    const t = fresh();
    for (let i = 1; i <= 5; i++) put(t, i, ["k", `v${i}`]); // revs 2..6
    assert.throws(() => t.store.range(B("k"), NONE, { revision: 7 }), ErrFutureRev);
    assert.equal(get(t, "k", -3)!.value, "v5"); // <= 0: current
    const { done } = t.store.compact(6, 4);
    assert.equal(t.store.compactedRevision(), 4);
    assert.throws(() => t.store.range(B("k"), NONE, { revision: 3 }), ErrCompacted);
    assert.equal(get(t, "k", 4)!.value, "v3");
    await done;
    assert.equal(get(t, "k", 4)!.value, "v3");
    assert.equal(get(t, "k", 5)!.value, "v4");
    assert.throws(() => t.store.compact(7, 4), ErrCompacted);
    assert.throws(() => t.store.compact(8, 3), ErrCompacted);
    assert.throws(() => t.store.compact(9, 7), ErrFutureRev);
    assert.equal(t.store.consistentIndex(), 9);
  });

  it("compaction keeps the newest revision <= rev of each key unless it is a tombstone", async () => {
    const t = fresh();
    put(t, 1, ["a", "a1"], ["b", "b1"], ["c", "c1"]); // 2
    put(t, 2, ["a", "a2"]); // 3
    del(t, 3, "b"); // 4
    put(t, 4, ["c", "c2"]); // 5
    put(t, 5, ["d", "d1"]); // 6
    await t.backend.committed();
    const rowsBefore = [...t.backend.bucket("key").getRange({})].length;
    assert.equal(rowsBefore, 7);
    await t.store.compact(6, 4).done;
    // kept: a@3, c@2 (newest <= 4), plus everything after 4; gone: a@2, b@2, the tombstone b@4
    const rows = [...t.backend.bucket("key").getRange({})].map((r) => `${r.key.readUInt32BE(4)}.${r.key.readUInt32BE(13)}${r.key.length === 18 ? "t" : ""}`);
    assert.deepEqual(rows, ["2.2", "3.0", "5.0", "6.0"]);
    assert.equal(get(t, "c", 4)!.value, "c1");
    assert.equal(get(t, "b", 4), undefined);
    assert.deepEqual(keys(t, "a", FROM_KEY, 4), ["a", "c"]);
    assert.deepEqual(keys(t, "a", FROM_KEY), ["a", "c", "d"]);
    // a key whose whole history is compacted away leaves the index
    assert.equal(t.store.indexedKeys(), 3);
  });

  it("physical compaction of a big store runs in batches without blocking reads and writes", async () => {
    const t = openTempStore({ compactionBatchLimit: 100, compactionIndexBatch: 50 });
    stores.push(t);
    for (let i = 0; i < 30; i++) {
      t.store.write(i + 1, (txn) => {
        for (let j = 0; j < 40; j++) txn.put(B(`k${j}`), B(`v${i}`), 0n);
      });
    }
    await t.backend.committed();
    const { done } = t.store.compact(100, 20);
    let interleaved = 0;
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      put(t, 200 + interleaved, ["during", String(interleaved)]);
      assert.equal(get(t, "k1")!.value, "v29");
      interleaved++;
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(interleaved > 3, `compaction should yield to the event loop (${interleaved} turns)`);
    assert.equal(get(t, "k1", 20)!.value, "v18");
    await t.backend.committed();
    const rows = [...t.backend.bucket("key").getRange({})].length;
    // kept: every key at 20 (its newest <= 20) and at 21..31, plus the puts made meanwhile
    assert.equal(rows, 40 + 40 * 11 + interleaved);
  });
});

describe("events", () => {
  it("onCommit gets each write transaction's events in order, with prevKv", () => {
    const t = fresh();
    const seen: Array<[number, Event[]]> = [];
    const off = t.store.onCommit((evs, rev) => seen.push([rev, evs]));
    const release = t.store.retainPrevKv(); // as a watcher created with prev_kv holds it
    put(t, 1, ["a", "1"]);
    t.store.write(2, (txn) => {
      txn.put(B("a"), B("2"), 0n);
      txn.put(B("b"), B("3"), 0n);
      txn.deleteRange(B("a"), FROM_KEY);
    });
    t.store.write(3, () => undefined); // no event for an empty transaction
    release();
    release(); // a second release changes nothing
    put(t, 4, ["c", "4"]);
    put(t, 5, ["c", "5"]); // nobody wants previous values: an overwrite reads none; a delete still carries it
    t.store.write(6, (txn) => txn.deleteRange(B("c"), NONE));
    off();
    put(t, 7, ["d", "x"]);
    const plain = seen.map(([rev, evs]) => [rev, evs.map((e) => [EventType[e.type], kvPlain(e.kv), e.prevKv ? kvPlain(e.prevKv) : null])]);
    assert.deepEqual(plain, [
      [2, [["Put", { key: "a", value: "1", create: 2, mod: 2, ver: 1, lease: 0n }, null]]],
      [
        3,
        [
          ["Put", { key: "a", value: "2", create: 2, mod: 3, ver: 2, lease: 0n }, { key: "a", value: "1", create: 2, mod: 2, ver: 1, lease: 0n }],
          ["Put", { key: "b", value: "3", create: 3, mod: 3, ver: 1, lease: 0n }, null],
          ["Delete", { key: "a", value: "", create: 0, mod: 3, ver: 0, lease: 0n }, { key: "a", value: "2", create: 2, mod: 3, ver: 2, lease: 0n }],
          ["Delete", { key: "b", value: "", create: 0, mod: 3, ver: 0, lease: 0n }, { key: "b", value: "3", create: 3, mod: 3, ver: 1, lease: 0n }],
        ],
      ],
      [4, [["Put", { key: "c", value: "4", create: 4, mod: 4, ver: 1, lease: 0n }, null]]],
      [5, [["Put", { key: "c", value: "5", create: 4, mod: 5, ver: 2, lease: 0n }, null]]],
      [6, [["Delete", { key: "c", value: "", create: 0, mod: 6, ver: 0, lease: 0n }, { key: "c", value: "5", create: 4, mod: 5, ver: 2, lease: 0n }]]],
    ]);
  });

  it("an overwrite carries the previous value only while someone holds retainPrevKv", () => {
    const t = fresh();
    const prevOf = (key: string, value: string, ci: number) => {
      let got: Event | undefined;
      const off = t.store.onCommit((evs) => (got = evs[0]));
      put(t, ci, [key, value]);
      off();
      return got?.prevKv ? S(got.prevKv.value) : null;
    };
    assert.equal(prevOf("k", "1", 1), null);
    assert.equal(prevOf("k", "2", 2), null, "nobody wants it");
    const a = t.store.retainPrevKv();
    const b = t.store.retainPrevKv();
    assert.equal(prevOf("k", "3", 3), "2");
    a();
    assert.equal(prevOf("k", "4", 4), "3", "one holder left");
    b();
    assert.equal(prevOf("k", "5", 5), null);
  });

  it("history() replays events from lmdb and from not-yet-committed revisions alike", async () => {
    const t = fresh();
    put(t, 1, ["a", "1"]); // 2
    put(t, 2, ["a", "2"]); // 3
    del(t, 3, "a"); // 4
    await t.backend.committed();
    put(t, 4, ["b", "1"]); // 5, still pending
    put(t, 5, ["b", "2"]); // 6, still pending; its event carries no previous value (nobody held retainPrevKv)
    const evs = t.store.history(2, 10, { prevKv: true });
    assert.deepEqual(
      evs.map((e) => [EventType[e.type], S(e.kv.key), e.kv.modRevision, e.prevKv ? S(e.prevKv.value) : null]),
      [
        ["Put", "a", 2, null],
        ["Put", "a", 3, "1"],
        ["Delete", "a", 4, "2"],
        ["Put", "b", 5, null],
        ["Put", "b", 6, "1"],
      ],
    );
    assert.equal(t.store.history(3, 4).length, 2);
    assert.equal(t.store.history(2, 10)[1]!.prevKv, undefined);
  });
});

describe("leases", () => {
  it("attach/detach hooks follow puts and deletes, and are replayed at open", async () => {
    const calls: string[] = [];
    // a lessor's key -> lease map, as the lessor keeps it (the store asks it which lease a write detaches from)
    const attached = new Map<string, bigint>();
    const leases = {
      attach: (id: bigint, key: Buffer) => {
        attached.set(S(key), id);
        calls.push(`+${id}:${S(key)}`);
      },
      detach: (id: bigint, key: Buffer) => {
        if (attached.get(S(key)) === id) attached.delete(S(key));
        calls.push(`-${id}:${S(key)}`);
      },
      leaseOf: (key: Buffer) => attached.get(S(key)) ?? 0n,
    };
    const t = openTempStore({ leases });
    stores.push(t);
    t.store.write(1, (txn) => txn.put(B("a"), B("1"), 5n));
    t.store.write(2, (txn) => txn.put(B("a"), B("2"), 6n));
    t.store.write(3, (txn) => txn.put(B("b"), B("1"), 6n));
    t.store.write(4, (txn) => txn.put(B("b"), B("2"), 0n));
    t.store.write(5, (txn) => txn.put(B("c"), B("1"), 7n));
    t.store.write(6, (txn) => txn.deleteRange(B("c"), NONE));
    t.store.write(7, (txn) => txn.put(B("d"), B("1"), 8n));
    assert.deepEqual(calls, ["+5:a", "-5:a", "+6:a", "+6:b", "-6:b", "+7:c", "-7:c", "+8:d"]);
    calls.length = 0;
    attached.clear(); // a reopened lessor forgets its keys; the store attaches them again
    await t.reopen({ leases });
    assert.deepEqual(calls.sort(), ["+6:a", "+8:d"]);
    assert.equal(t.store.range(B("a"), NONE).kvs[0]!.lease, 6n);
  });
});
