/**
 * A member's backend holds writes for up to 100 ms (batchIntervalMs). What reads the store or copies
 * its file while writes are held must see them: HashKV (through the pending overlay) and backup (the
 * database a leader sends to a new member: it waits for the held writes to commit, with the
 * consistent index that covers them).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Backend, backendPath } from "../../server/backend/index.js";
import { MvccStore } from "../../server/mvcc/index.js";
import { B, NONE, S, tempDir } from "./helpers.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function store(batchIntervalMs: number): { backend: Backend; store: MvccStore; dir: string } {
  const dir = tempDir();
  dirs.push(dir);
  const backend = Backend.open(backendPath(dir), { batchIntervalMs });
  return { backend, store: MvccStore.open(backend), dir };
}

function writeKeys(s: MvccStore, n: number): void {
  for (let i = 1; i <= n; i++) s.write(i, (txn) => txn.put(B(`k${i}`), B(`v${i}`), 0n));
}

describe("held backend batches are seen by hash and backup", () => {
  it("HashKV of a store holding its writes equals the hash of one that committed them", async () => {
    const held = store(60_000);
    const eager = store(0);
    writeKeys(held.store, 50);
    writeKeys(eager.store, 50);
    await eager.backend.committed();
    assert.ok(held.backend.lastCommittedBatch() < held.backend.lastIssuedBatch(), "the writes are still held");
    assert.deepEqual(held.store.hashKV(0), eager.store.hashKV(0));
    assert.deepEqual(held.store.hashKV(25), eager.store.hashKV(25));
    for (const t of [held, eager]) {
      await t.store.close();
      await t.backend.close();
    }
  });

  it("backup() taken while writes are held holds them, with the consistent index that covers them", async () => {
    const held = store(60_000);
    writeKeys(held.store, 30);
    assert.ok(held.backend.lastCommittedBatch() < held.backend.lastIssuedBatch(), "the writes are still held");
    const file = join(held.dir, "outgoing.db");
    await held.backend.backup(file); // as the leader's backendCopy for a snapshot to a new member
    const copy = Backend.open(file);
    const received = MvccStore.open(copy);
    try {
      assert.equal(received.consistentIndex(), 30);
      assert.equal(received.currentRevision(), 31);
      assert.deepEqual(
        received.range(B("k"), B("l"), {}).kvs.map((kv) => S(kv.key)).sort(),
        Array.from({ length: 30 }, (_, i) => `k${i + 1}`).sort(),
      );
      assert.equal(S(received.range(B("k30"), NONE, {}).kvs[0]!.value), "v30");
    } finally {
      await received.close();
      await copy.close();
      await held.store.close();
      await held.backend.close();
    }
  });
});
