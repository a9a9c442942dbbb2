/** KV apply (etcd's applierV3backend): Range flags, Put/DeleteRange options, Txn, Compaction. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { applyCompaction, applyDeleteRange, applyPut, applyRange, applyTxn, isTxnReadonly, type LeaseHooks } from "../../server/etcdserver/apply/index.js";
import { ErrKeyNotFound } from "../../server/pb/errors.js";
import { ErrCompacted, ErrFutureRev } from "../../server/mvcc/errors.js";
import { ErrLeaseNotFound } from "../../server/lease/errors.js";
import { CompareResult, CompareTarget, SortOrder, SortTarget, type Compare, type CompareValue, type ResponseOp, type TxnResponse } from "../../server/pb/kv.js";
import { B, FROM_KEY, S, delReq, opDel, opPut, opRange, opTxn, openTempStore, putReq, rangeReq, txnReq, type TempStore } from "../mvcc/helpers.js";

const stores: TempStore[] = [];
after(async () => {
  for (const t of stores) await t.destroy().catch(() => undefined);
});
function fresh(): TempStore {
  const t = openTempStore();
  stores.push(t);
  return t;
}

let ci = 0;
const put = (t: TempStore, key: string, value: string, o: Parameters<typeof putReq>[2] = {}, leases?: Pick<LeaseHooks, "exists">) =>
  t.store.write(++ci, (txn) => applyPut(txn, putReq(key, value, o), leases));
const del = (t: TempStore, key: string, end: string | Buffer = Buffer.alloc(0), prevKv = false) => t.store.write(++ci, (txn) => applyDeleteRange(txn, delReq(key, end, { prevKv })));
const keysOf = (r: { kvs: Array<{ key: Buffer }> }) => r.kvs.map((kv) => S(kv.key));
const cmp = (key: string, target: CompareTarget, result: CompareResult, v?: CompareValue, rangeEnd = ""): Compare => ({ key: B(key), rangeEnd: B(rangeEnd), target, result, targetUnion: v });

describe("Range", () => {
  const t = fresh();
  // revisions: a@2 b@3 c@4 a@5 d@6 b@7 ; versions a2 b2 c1 d1
  put(t, "a", "3");
  put(t, "b", "1");
  put(t, "c", "2");
  put(t, "a", "1");
  put(t, "d", "9");
  put(t, "b", "0");

  it("sorts by each target, ascending and descending (target without order = ascending)", () => {
    const sorted = (sortTarget: SortTarget, sortOrder: SortOrder) => keysOf(applyRange(t.store, rangeReq("a", FROM_KEY, { sortTarget, sortOrder })));
    assert.deepEqual(sorted(SortTarget.Key, SortOrder.None), ["a", "b", "c", "d"]);
    assert.deepEqual(sorted(SortTarget.Key, SortOrder.Descend), ["d", "c", "b", "a"]);
    assert.deepEqual(sorted(SortTarget.Value, SortOrder.None), ["b", "a", "c", "d"]);
    assert.deepEqual(sorted(SortTarget.Value, SortOrder.Descend), ["d", "c", "a", "b"]);
    assert.deepEqual(sorted(SortTarget.Create, SortOrder.Descend), ["d", "c", "b", "a"]);
    assert.deepEqual(sorted(SortTarget.Mod, SortOrder.Ascend), ["c", "a", "d", "b"]);
    // ties keep Go's sort.Sort order (insertion sort below 13 elements: stable)
    assert.deepEqual(sorted(SortTarget.Version, SortOrder.Ascend), ["c", "d", "a", "b"]);
    assert.deepEqual(sorted(SortTarget.Version, SortOrder.Descend), ["a", "b", "c", "d"]);
  });

  it("limit: more and count (count is the whole range); sorting applies before the limit", () => {
    const r = applyRange(t.store, rangeReq("a", FROM_KEY, { limit: 2 }));
    assert.deepEqual([keysOf(r), r.more, r.count, r.revision], [["a", "b"], true, 4, 7]);
    const exact = applyRange(t.store, rangeReq("a", FROM_KEY, { limit: 4 }));
    assert.deepEqual([exact.more, exact.count], [false, 4]);
    const s = applyRange(t.store, rangeReq("a", FROM_KEY, { limit: 1, sortOrder: SortOrder.Descend, sortTarget: SortTarget.Mod }));
    assert.deepEqual([keysOf(s), s.more, s.count], [["b"], true, 4]);
  });

  it("keys_only drops values; count_only returns just the count", () => {
    const r = applyRange(t.store, rangeReq("a", "c", { keysOnly: true }));
    assert.deepEqual(
      r.kvs.map((kv) => [S(kv.key), kv.value.length, kv.version]),
      [
        ["a", 0, 2],
        ["b", 0, 2],
      ],
    );
    // the store's own KeyValues are untouched
    assert.equal(S(applyRange(t.store, rangeReq("a")).kvs[0]!.value), "1");
    const c = applyRange(t.store, rangeReq("a", FROM_KEY, { countOnly: true, limit: 1 }));
    assert.deepEqual([c.kvs.length, c.count, c.more], [0, 4, false]);
  });

  it("min/max mod/create revision filters prune kvs but not count", () => {
    const r = applyRange(t.store, rangeReq("a", FROM_KEY, { minModRevision: 5, maxModRevision: 6 }));
    assert.deepEqual([keysOf(r), r.count], [["a", "d"], 4]);
    const c = applyRange(t.store, rangeReq("a", FROM_KEY, { minCreateRevision: 3, maxCreateRevision: 4, limit: 1 }));
    assert.deepEqual([keysOf(c), c.more, c.count], [["b"], true, 4]);
  });

  it("reads a past revision; the header revision stays the current one", () => {
    const r = applyRange(t.store, rangeReq("a", FROM_KEY, { revision: 4 }));
    assert.deepEqual(
      r.kvs.map((kv) => `${S(kv.key)}=${S(kv.value)}`),
      ["a=3", "b=1", "c=2"],
    );
    assert.equal(r.revision, 7);
    assert.throws(() => applyRange(t.store, rangeReq("a", "", { revision: 8 })), ErrFutureRev);
  });
});

describe("Put and DeleteRange", () => {
  it("prev_kv returns the previous pair; the response revision is the new one", () => {
    const t = fresh();
    assert.deepEqual(put(t, "k", "1", { prevKv: true }), { revision: 2 });
    const r = put(t, "k", "2", { prevKv: true });
    assert.equal(r.revision, 3);
    assert.equal(S(r.prevKv!.value), "1");
  });

  it("ignore_value keeps the value, ignore_lease keeps the lease; on an absent key: ErrKeyNotFound", () => {
    const t = fresh();
    const leases = { exists: (id: bigint) => id === 42n };
    put(t, "k", "v", { lease: 42n }, leases);
    put(t, "k", "", { ignoreValue: true });
    let kv = applyRange(t.store, rangeReq("k")).kvs[0]!;
    assert.deepEqual([S(kv.value), kv.lease, kv.version], ["v", 0n, 2]);
    put(t, "k", "w", { ignoreLease: true }, leases);
    put(t, "k", "x", { lease: 42n }, leases);
    put(t, "k", "", { ignoreLease: true, ignoreValue: true });
    kv = applyRange(t.store, rangeReq("k")).kvs[0]!;
    assert.deepEqual([S(kv.value), kv.lease, kv.version], ["x", 42n, 5]);
    const rev = t.store.currentRevision();
    assert.throws(() => put(t, "absent", "", { ignoreValue: true }), ErrKeyNotFound);
    assert.throws(() => put(t, "absent", "v", { ignoreLease: true }), ErrKeyNotFound);
    assert.equal(t.store.currentRevision(), rev);
  });

  it("a lease that does not exist: ErrLeaseNotFound (checked before the key)", () => {
    const t = fresh();
    assert.throws(() => put(t, "k", "v", { lease: 7n }), ErrLeaseNotFound);
    assert.throws(() => put(t, "absent", "", { lease: 7n, ignoreValue: true }), ErrLeaseNotFound);
    assert.equal(t.store.currentRevision(), 1);
    assert.equal(t.store.consistentIndex(), ci, "a failed request still records its index");
  });

  it("delete: count, prev_kvs, and no new revision when nothing is deleted", () => {
    const t = fresh();
    put(t, "a", "1");
    put(t, "ab", "2");
    put(t, "b", "3");
    const none = del(t, "x", "", true);
    assert.deepEqual(none, { deleted: 0, prevKvs: [], revision: 4 });
    const r = del(t, "a", "b", true);
    assert.deepEqual([r.deleted, r.prevKvs.map((kv) => S(kv.key)), r.revision], [2, ["a", "ab"], 5]);
    const q = del(t, "\0", FROM_KEY);
    assert.deepEqual([q.deleted, q.prevKvs.length, q.revision], [1, 0, 6]);
  });
});

describe("Txn", () => {
  const t = fresh();
  put(t, "k", "v1"); // 2
  put(t, "k", "v2"); // 3  k: create 2, mod 3, version 2
  put(t, "l", "x", { lease: 0n }); // 4

  const succeeded = (...cs: Compare[]) => applyTxn(t.store, ++ci, txnReq(cs, [], [])).succeeded;

  it("compares VALUE / VERSION / CREATE / MOD / LEASE with each result", () => {
    assert.equal(succeeded(cmp("k", CompareTarget.Value, CompareResult.Equal, { value: B("v2") })), true);
    assert.equal(succeeded(cmp("k", CompareTarget.Value, CompareResult.Greater, { value: B("v1") })), true);
    assert.equal(succeeded(cmp("k", CompareTarget.Value, CompareResult.Less, { value: B("v1") })), false);
    assert.equal(succeeded(cmp("k", CompareTarget.Value, CompareResult.NotEqual, { value: B("v2") })), false);
    assert.equal(succeeded(cmp("k", CompareTarget.Version, CompareResult.Equal, { version: 2 })), true);
    assert.equal(succeeded(cmp("k", CompareTarget.Create, CompareResult.Less, { createRevision: 3 })), true);
    assert.equal(succeeded(cmp("k", CompareTarget.Mod, CompareResult.Greater, { modRevision: 3 })), false);
    assert.equal(succeeded(cmp("k", CompareTarget.Mod, CompareResult.Equal, { modRevision: 3 })), true);
    assert.equal(succeeded(cmp("k", CompareTarget.Lease, CompareResult.Equal, { lease: 0n })), true);
    // all compares must hold
    assert.equal(succeeded(cmp("k", CompareTarget.Version, CompareResult.Equal, { version: 2 }), cmp("k", CompareTarget.Version, CompareResult.Equal, { version: 3 })), false);
    // a target union of another kind compares against zero
    assert.equal(succeeded(cmp("k", CompareTarget.Mod, CompareResult.Greater, { version: 99 })), true);
  });

  it("an absent key compares as the zero KeyValue, except VALUE which always fails", () => {
    assert.equal(succeeded(cmp("nope", CompareTarget.Version, CompareResult.Equal, { version: 0 })), true);
    assert.equal(succeeded(cmp("nope", CompareTarget.Create, CompareResult.Less, { createRevision: 1 })), true);
    assert.equal(succeeded(cmp("nope", CompareTarget.Mod, CompareResult.Equal, { modRevision: 0 })), true);
    assert.equal(succeeded(cmp("nope", CompareTarget.Value, CompareResult.Equal, { value: B("") })), false);
    assert.equal(succeeded(cmp("nope", CompareTarget.Value, CompareResult.NotEqual, { value: B("x") })), false);
  });

  it("with range_end a compare must hold for every key in the range", () => {
    assert.equal(succeeded(cmp("k", CompareTarget.Create, CompareResult.Greater, { createRevision: 1 }, "m")), true);
    assert.equal(succeeded(cmp("k", CompareTarget.Version, CompareResult.Equal, { version: 2 }, "m")), false);
    assert.equal(succeeded(cmp("\0", CompareTarget.Mod, CompareResult.Less, { modRevision: 5 }, "\0")), true);
  });

  it("all ops of the chosen branch share one revision; responses carry it", () => {
    const before = t.store.currentRevision();
    const r = applyTxn(
      t.store,
      ++ci,
      txnReq(
        [cmp("k", CompareTarget.Value, CompareResult.Equal, { value: B("v2") })],
        [opRange(rangeReq("k")), opPut(putReq("k", "v3", { prevKv: true })), opRange(rangeReq("k")), opPut(putReq("n", "1")), opDel(delReq("l", "", { prevKv: true })), opRange(rangeReq("\0", FROM_KEY))],
        [opPut(putReq("never", "x"))],
      ),
    );
    const rev = before + 1;
    assert.equal(r.succeeded, true);
    assert.equal(r.revision, rev);
    assert.equal(t.store.currentRevision(), rev);
    const [r0, p1, r2, p3, d4, r5] = r.responses as [ResponseOp, ResponseOp, ResponseOp, ResponseOp, ResponseOp, ResponseOp];
    assert.ok("responseRange" in r0 && "responseRange" in r2 && "responseRange" in r5 && "responsePut" in p1 && "responsePut" in p3 && "responseDeleteRange" in d4);
    assert.deepEqual([r0.responseRange.revision, S(r0.responseRange.kvs[0]!.value)], [before, "v2"]);
    assert.deepEqual([p1.responsePut.revision, S(p1.responsePut.prevKv!.value)], [rev, "v2"]);
    assert.deepEqual([r2.responseRange.revision, S(r2.responseRange.kvs[0]!.value), r2.responseRange.kvs[0]!.modRevision], [rev, "v3", rev]);
    assert.deepEqual([d4.responseDeleteRange.deleted, d4.responseDeleteRange.revision], [1, rev]);
    assert.deepEqual(keysOf(r5.responseRange), ["k", "n"]);
    assert.equal(applyRange(t.store, rangeReq("never")).count, 0);
  });

  it("the failure branch runs when a compare fails", () => {
    const r = applyTxn(t.store, ++ci, txnReq([cmp("k", CompareTarget.Version, CompareResult.Equal, { version: 1 })], [opPut(putReq("s", "1"))], [opPut(putReq("f", "1"))]));
    assert.equal(r.succeeded, false);
    assert.equal(applyRange(t.store, rangeReq("f")).count, 1);
    assert.equal(applyRange(t.store, rangeReq("s")).count, 0);
  });

  it("nested txns: compares are all evaluated before any op, on the state before the txn", () => {
    const before = t.store.currentRevision();
    const inner = txnReq([cmp("k", CompareTarget.Value, CompareResult.Equal, { value: B("v3") })], [opPut(putReq("inner-ok", "1")), opRange(rangeReq("k"))], [opPut(putReq("inner-fail", "1"))]);
    // the outer txn changes k first; the inner compare still sees v3
    const r = applyTxn(t.store, ++ci, txnReq([], [opPut(putReq("k", "v4")), opTxn(inner)]));
    assert.equal(r.revision, before + 1);
    const nested = r.responses[1]!;
    assert.ok("responseTxn" in nested);
    const n: TxnResponse = nested.responseTxn;
    assert.equal(n.succeeded, true);
    assert.equal(n.revision, 0, "etcd never sets a nested txn's header");
    const innerRange = n.responses[1]!;
    assert.ok("responseRange" in innerRange);
    assert.equal(S(innerRange.responseRange.kvs[0]!.value), "v4", "ops see earlier writes of the txn");
    assert.equal(applyRange(t.store, rangeReq("inner-ok")).kvs[0]!.modRevision, before + 1);
  });

  it("read-only txns (only ranges at top level) and write txns that change nothing keep the revision", () => {
    const rev = t.store.currentRevision();
    const ro = txnReq([], [opRange(rangeReq("k"))]);
    assert.equal(isTxnReadonly(ro), true);
    assert.equal(applyTxn(t.store, ++ci, ro).revision, rev);
    const nestedOnlyReads = txnReq([], [opTxn(txnReq([], [opRange(rangeReq("k"))]))]);
    assert.equal(isTxnReadonly(nestedOnlyReads), false);
    assert.equal(applyTxn(t.store, ++ci, nestedOnlyReads).revision, rev);
    assert.equal(applyTxn(t.store, ++ci, txnReq([], [opDel(delReq("absent"))])).revision, rev);
    assert.equal(t.store.currentRevision(), rev);
    assert.equal(t.store.consistentIndex(), ci);
  });

  it("checks the chosen branch before writing: ErrKeyNotFound, ErrLeaseNotFound, ErrFutureRev, ErrCompacted", async () => {
    const rev = t.store.currentRevision();
    const ok = [cmp("k", CompareTarget.Version, CompareResult.Greater, { version: 0 })];
    assert.throws(() => applyTxn(t.store, ++ci, txnReq(ok, [opPut(putReq("a1", "1")), opPut(putReq("absent", "", { ignoreValue: true }))])), ErrKeyNotFound);
    assert.throws(() => applyTxn(t.store, ++ci, txnReq(ok, [opPut(putReq("a1", "1", { lease: 9n }))])), ErrLeaseNotFound);
    assert.throws(() => applyTxn(t.store, ++ci, txnReq(ok, [opRange(rangeReq("k", "", { revision: rev + 1 }))])), ErrFutureRev);
    assert.throws(() => applyTxn(t.store, ++ci, txnReq(ok, [opTxn(txnReq([], [opRange(rangeReq("k", "", { revision: rev + 1 }))]))])), ErrFutureRev);
    // problems in the branch not taken do not matter
    const r = applyTxn(t.store, ++ci, txnReq(ok, [opRange(rangeReq("k"))], [opPut(putReq("absent", "", { ignoreValue: true }))]));
    assert.equal(r.succeeded, true);
    assert.equal(t.store.currentRevision(), rev);
    assert.equal(applyRange(t.store, rangeReq("a1")).count, 0);
    await t.store.compact(++ci, rev - 1).done;
    // a negative revision inside a txn is below the compacted one (etcd's checkRequestRange)
    assert.throws(() => applyTxn(t.store, ++ci, txnReq([], [opRange(rangeReq("k", "", { revision: -1 }))])), ErrCompacted);
    assert.throws(() => applyTxn(t.store, ++ci, txnReq([], [opRange(rangeReq("k", "", { revision: rev - 2 }))])), ErrCompacted);
    assert.equal(applyTxn(t.store, ++ci, txnReq([], [opRange(rangeReq("k", "", { revision: rev - 1 }))])).succeeded, true);
  });

  it("a put with ignore_value of a key deleted earlier by a from-key delete fails and rolls back (etcd 3.4 panics)", () => {
    const rev = t.store.currentRevision();
    assert.throws(() => applyTxn(t.store, ++ci, txnReq([], [opDel(delReq("k", FROM_KEY)), opPut(putReq("k", "", { ignoreValue: true }))])), ErrKeyNotFound);
    assert.equal(t.store.currentRevision(), rev);
    assert.equal(applyRange(t.store, rangeReq("k")).count, 1);
    assert.equal(t.store.consistentIndex(), ci);
  });
});

describe("Compaction", () => {
  it("returns the current revision and a promise for the physical work; errors as etcd", async () => {
    const t = fresh();
    for (let i = 0; i < 5; i++) put(t, "k", String(i));
    const r = applyCompaction(t.store, ++ci, { revision: 4, physical: true });
    assert.equal(r.revision, 6);
    await r.done;
    assert.throws(() => applyCompaction(t.store, ++ci, { revision: 4, physical: false }), ErrCompacted);
    assert.throws(() => applyCompaction(t.store, ++ci, { revision: 7, physical: false }), ErrFutureRev);
    await t.store.compactionBarrier();
    assert.throws(() => applyRange(t.store, rangeReq("k", "", { revision: 3 })), ErrCompacted);
    assert.equal(S(applyRange(t.store, rangeReq("k", "", { revision: 4 })).kvs[0]!.value), "2");
  });
});
