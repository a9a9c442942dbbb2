/** The lmdb backend: buckets, batched commits, size, flush, backup/restore, reopen. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Backend, backendPath } from "../../server/backend/index.js";

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), "etcd-ts-backend-"));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const b = (s: string) => Buffer.from(s);

describe("backend", () => {
  it("lives in <data-dir>/member/snap/db as one lmdb file", async () => {
    const d = dir();
    const be = Backend.open(backendPath(d));
    assert.equal(be.path, join(d, "member", "snap", "db"));
    be.bucket("key").put(b("k"), b("v"));
    await be.flush();
    assert.ok(statSync(be.path).isFile());
    assert.ok(be.size() > 0);
    assert.ok(be.sizeInUse() > 0 && be.sizeInUse() <= be.size());
    await be.close();
  });

  it("writes of one event-loop turn commit together, in order; reads see committed data", async () => {
    const be = Backend.open(join(dir(), "db"));
    const kv = be.bucket("key");
    const meta = be.bucket("meta");
    const b1 = kv.put(b("a"), b("1"));
    const b2 = meta.put(b("ci"), b("x"));
    const b3 = kv.remove(b("zzz"));
    assert.equal(b1, b2);
    assert.equal(b2, b3);
    assert.equal(kv.get(b("a")), undefined, "not visible before commit");
    const seen: number[] = [];
    be.onBatchCommit((n) => seen.push(n));
    await be.committed();
    assert.equal(kv.get(b("a"))?.toString(), "1");
    assert.deepEqual(seen, [b1]);
    assert.equal(be.lastCommittedBatch(), b1);
    await new Promise((r) => setImmediate(r));
    const b4 = kv.put(b("b"), b("2"));
    assert.ok(b4 > b1, "a later turn is a later batch");
    kv.remove(b("a"));
    await be.committed();
    assert.deepEqual(
      kv.keys().map(String),
      ["b"],
    );
    assert.deepEqual(
      [...kv.getRange({ start: b("a"), end: b("c") })].map((e) => `${e.key}=${e.value}`),
      ["b=2"],
    );
    await be.close();
    assert.equal(be.isOpen(), false);
  });

  it("buckets are separate keyspaces and survive reopening", async () => {
    const p = join(dir(), "db");
    let be = Backend.open(p);
    be.bucket("one").put(b("k"), b("1"));
    be.bucket("two").put(b("k"), b("2"));
    await be.close();
    be = Backend.open(p);
    assert.equal(be.bucket("one").get(b("k"))?.toString(), "1");
    assert.equal(be.bucket("two").get(b("k"))?.toString(), "2");
    assert.equal(be.bucket("three").get(b("k")), undefined);
    await be.close();
  });

  it("backup writes a consistent copy that restoreFrom swaps in", async () => {
    const d = dir();
    const src = Backend.open(join(d, "src.db"));
    src.bucket("key").put(b("k"), b("snap"));
    const copy = join(d, "copy.db");
    await src.backup(copy); // waits for the queued write
    assert.ok(existsSync(copy));

    const dst = Backend.open(join(d, "dst.db"));
    const bucket = dst.bucket("key");
    bucket.put(b("k"), b("old"));
    bucket.put(b("other"), b("x"));
    await dst.restoreFrom(copy);
    assert.equal(bucket.get(b("k"))?.toString(), "snap", "bucket handles stay valid");
    assert.equal(bucket.get(b("other")), undefined);
    bucket.put(b("after"), b("1"));
    await dst.flush();
    assert.equal(bucket.get(b("after"))?.toString(), "1");
    await src.close();
    await dst.close();
  });

  it("batchIntervalMs: writes of several turns are held and commit as one batch, the number each write was given", async () => {
    const be = Backend.open(join(dir(), "db"), { batchIntervalMs: 50 });
    const kv = be.bucket("key");
    const seen: number[] = [];
    be.onBatchCommit((n) => seen.push(n));
    const key = b("k1");
    const b1 = kv.put(key, b("1"));
    key.write("k2"); // a caller reusing its key buffer: the held write kept its own copy
    await new Promise((r) => setImmediate(r));
    const b2 = kv.put(b("k3"), b("3"));
    assert.equal(b1, b2, "turns within the interval share a batch");
    assert.equal(be.lastIssuedBatch(), b1);
    assert.equal(kv.get(b("k1")), undefined, "held, not yet handed to lmdb");
    // released by the interval (no committed() call); waited for by event, not by a sleep that a
    // loaded machine could stretch past the interval
    await new Promise<void>((resolve) => {
      const off = be.onBatchCommit(() => (off(), resolve()));
    });
    assert.deepEqual(seen, [b1], "released by the interval");
    assert.deepEqual(kv.keys().map(String), ["k1", "k3"]);
    const b3 = kv.remove(b("k1"));
    assert.ok(b3 > b1);
    await be.committed(); // releases what is held at once
    assert.deepEqual(kv.keys().map(String), ["k3"]);
    assert.deepEqual(seen, [b1, b3]);
    await be.close();
  });

  it("batchIntervalMs: a run of writes that crosses the batch limit is never split between two batches", async () => {
    const be = Backend.open(join(dir(), "db"), { batchIntervalMs: 10_000, batchLimit: 3 });
    const kv = be.bucket("key");
    const numbers = [1, 2, 3, 4, 5].map((i) => kv.put(b(`k${i}`), b(String(i))));
    assert.equal(new Set(numbers).size, 1, "one synchronous run, one batch");
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      const off = be.onBatchCommit(() => (off(), resolve()));
    });
    assert.ok(Date.now() - t0 < 5000, "released at the end of the turn, not after the 10 s interval");
    assert.equal(be.lastCommittedBatch(), numbers[0]);
    assert.equal(kv.keys().length, 5);
    await be.close();
  });
  it("batchIntervalMs: committed() called from an earlier microtask never splits a turn's rows from the index written after them", async () => {
    // The MVCC store writes the consistent index from a microtask queued after a turn's rows; a
    // compaction or a backup may call committed() from a microtask queued before it.
    const be = Backend.open(join(dir(), "db"), { batchIntervalMs: 10_000 });
    const kv = be.bucket("key");
    const meta = be.bucket("meta");
    const seen: number[] = [];
    be.onBatchCommit((n) => seen.push(n));
    let done: Promise<void> | undefined;
    let indexBatch = 0;
    queueMicrotask(() => (done = be.committed()));
    const rowBatch = kv.put(b("row"), b("1"));
    queueMicrotask(() => (indexBatch = meta.put(b("consistent_index"), b("1"))));
    await new Promise((r) => setImmediate(r));
    await done;
    assert.equal(indexBatch, rowBatch, "the index joined the rows' batch");
    assert.deepEqual(seen, [rowBatch]);
    assert.equal(String(meta.get(b("consistent_index"))), "1", "committed with its rows, not held for 10 s");
    await be.close();
  });
});
