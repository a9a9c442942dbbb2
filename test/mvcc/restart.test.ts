/** Close/open: the store comes back with the same revision, data, consistent index and compaction state. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Backend, backendPath } from "../../server/backend/index.js";
import { MvccStore } from "../../server/mvcc/index.js";
import { ErrCompacted } from "../../server/mvcc/errors.js";
import { B, FROM_KEY, NONE, kvPlain, openTempStore, tempDir, type TempStore } from "./helpers.js";

const stores: TempStore[] = [];
function fresh(): TempStore {
  const t = openTempStore();
  stores.push(t);
  return t;
}
after(async () => {
  for (const t of stores) await t.destroy().catch(() => undefined);
});

const all = (t: TempStore, rev = 0) => t.store.range(B("\0"), FROM_KEY, { revision: rev }).kvs.map(kvPlain);

describe("restart", () => {
  it("same revision, same data at every revision, same consistent index", async () => {
    const t = fresh();
    for (let i = 1; i <= 20; i++) {
      t.store.write(i * 10, (txn) => {
        txn.put(B(`k${i % 7}`), B(`v${i}`), 0n);
        if (i % 5 === 0) txn.deleteRange(B(`k${(i + 1) % 7}`), NONE);
      });
    }
    t.store.setConsistentIndex(205, 3); // an applied entry that changed no key
    const rev = t.store.currentRevision();
    const snapshots = Array.from({ length: rev }, (_, i) => all(t, i + 1));
    await t.reopen();
    assert.equal(t.store.currentRevision(), rev);
    assert.equal(t.store.consistentIndex(), 205);
    assert.equal(t.store.consistentTerm(), 3);
    for (let r = 1; r <= rev; r++) assert.deepEqual(all(t, r), snapshots[r - 1], `revision ${r}`);
    // and writing continues from there, versions included
    t.store.write(300, (txn) => txn.put(B("k1"), B("again"), 0n));
    assert.equal(t.store.currentRevision(), rev + 1);
    const k1 = t.store.range(B("k1"), NONE).kvs[0]!;
    assert.equal(k1.version, (snapshots[rev - 1]!.find((kv) => kv.key === "k1")?.ver ?? 0) + 1);
  });

  it("compacted revision restored; an interrupted compaction resumes at open", async () => {
    const t = fresh();
    for (let i = 1; i <= 10; i++) t.store.write(i, (txn) => txn.put(B("k"), B(`v${i}`), 0n));
    await t.store.compact(11, 5).done;
    await t.reopen();
    assert.equal(t.store.compactedRevision(), 5);
    assert.throws(() => t.store.range(B("k"), NONE, { revision: 4 }), ErrCompacted);
    assert.equal(t.store.range(B("k"), NONE, { revision: 5 }).kvs[0]!.value.toString(), "v4");

    // schedule a compaction and close before it runs: open resumes it
    const { done } = t.store.compact(12, 9);
    await t.store.close();
    await assert.rejects(done);
    await t.backend.close();
    t.backend = Backend.open(backendPath(t.dir));
    t.store = MvccStore.open(t.backend);
    assert.equal(t.store.compactedRevision(), 9);
    await t.store.compactionBarrier();
    const rows = [...t.backend.bucket("key").getRange({})].length;
    assert.equal(rows, 3); // revisions 9 (kept), 10, 11
    assert.equal(t.store.consistentIndex(), 12);
  });

  it("the revision survives deleting and compacting everything", async () => {
    const t = fresh();
    t.store.write(1, (txn) => txn.put(B("a"), B("1"), 0n));
    t.store.write(2, (txn) => txn.deleteRange(B("a"), NONE));
    await t.store.compact(3, 3).done;
    assert.equal([...t.backend.bucket("key").getRange({})].length, 0);
    await t.reopen();
    assert.equal(t.store.currentRevision(), 3);
    assert.equal(t.store.compactedRevision(), 3);
    t.store.write(4, (txn) => txn.put(B("a"), B("2"), 0n));
    assert.deepEqual(kvPlain(t.store.range(B("a"), NONE).kvs[0]!), { key: "a", value: "2", create: 4, mod: 4, ver: 1, lease: 0n });
  });

  it("nothing written and not awaited is lost by a clean close", async () => {
    const t = fresh();
    t.store.write(7, (txn) => txn.put(B("x"), B("1"), 0n));
    await t.reopen();
    assert.equal(t.store.consistentIndex(), 7);
    assert.equal(t.store.range(B("x"), NONE).count, 1);
  });

  it("restores from a backend snapshot (backup file) and keeps listeners", async () => {
    const src = fresh();
    src.store.write(1, (txn) => txn.put(B("from-snapshot"), B("1"), 0n));
    src.store.write(2, (txn) => txn.put(B("from-snapshot"), B("2"), 0n));
    const dir = tempDir();
    const file = join(dir, "snap.db");
    await src.backend.backup(file);

    const dst = fresh();
    dst.store.write(1, (txn) => txn.put(B("old"), B("x"), 0n));
    let events = 0;
    dst.store.onCommit(() => events++);
    await dst.store.restoreFrom(file);
    assert.equal(dst.store.currentRevision(), 3);
    assert.equal(dst.store.consistentIndex(), 2);
    assert.equal(dst.store.range(B("old"), NONE).count, 0);
    assert.equal(dst.store.range(B("from-snapshot"), NONE).kvs[0]!.version, 2);
    dst.store.write(3, (txn) => txn.put(B("after"), B("1"), 0n));
    assert.equal(events, 1);
    await dst.reopen();
    assert.equal(dst.store.currentRevision(), 4);
    rmSync(dir, { recursive: true, force: true });
  });
});
