import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { SnapshotScheduler, type SnapshotSchedulerDeps } from "../../server/etcdserver/snapshot-scheduler.js";
import { MemoryStorage } from "../../server/raft/memory-storage.js";
import { type Entry, EntryType } from "../../server/raft/types.js";

/** The in-memory raft log is the member's memory: it must stay within --snapshot-count + etcd's 5000 catch-up entries. */
const CATCH_UP = 5000;

function schedulerOver(storage: MemoryStorage, snapshotCount: number) {
  const released: number[] = [];
  const deps: SnapshotSchedulerDeps = {
    backend: { flush: async () => {} },
    storage,
    stable: { saveSnapshot: async () => {} },
    wal: { releaseTo: async (i) => void released.push(i) },
    snapshots: { purge: async () => {} },
    metrics: { snapshotSaves: { observe: () => {} } } as unknown as SnapshotSchedulerDeps["metrics"],
    logger: pino({ level: "silent" }),
    memberId: 1n,
    snapshotCount,
    maxSnapshots: 5,
    confState: () => ({ voters: [1n], learners: [] }),
    membership: () => ({ clusterId: 1n, members: new Map(), removed: new Set() }),
    onFatal: (e) => assert.fail(e),
  };
  return { scheduler: new SnapshotScheduler(deps, 0), released };
}

const entry = (index: number): Entry => ({ term: 1, index, type: EntryType.Normal, data: new Uint8Array(8) });
const turns = async (n: number) => { for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r)); };

test("raft's in-memory log holds at most snapshot-count + 5000 catch-up entries (+ one batch) after many applies", async () => {
  const storage = new MemoryStorage();
  const snapshotCount = 10_000;
  const batch = 100;
  const { scheduler, released } = schedulerOver(storage, snapshotCount);
  let held = 0;
  for (let i = 1; i <= 60_000; i += batch) {
    storage.append(Array.from({ length: batch }, (_, k) => entry(i + k)));
    scheduler.maybeSnapshot(i + batch - 1); // applied as persisted, as the raft loop does
    await turns(3);
    held = Math.max(held, storage.lastIndex() - storage.firstIndex() + 1);
  }
  assert.ok(held <= snapshotCount + CATCH_UP + batch, `held ${held} entries`);
  assert.ok(storage.firstIndex() > 60_000 - snapshotCount - CATCH_UP - batch, `first index ${storage.firstIndex()}: the prefix was compacted`);
  assert.ok(released.length >= 5, "each snapshot releases the WAL before it");
});

test("after a snapshot the log keeps exactly the 5000 catch-up entries before it (etcd's SnapshotCatchUpEntries)", async () => {
  const storage = new MemoryStorage();
  const { scheduler } = schedulerOver(storage, 6000);
  storage.append(Array.from({ length: 6001 }, (_, k) => entry(k + 1)));
  scheduler.maybeSnapshot(6001);
  await turns(3);
  assert.equal(storage.snapshot().metadata.index, 6001);
  assert.equal(storage.firstIndex(), 6001 - CATCH_UP + 1);
  assert.equal(storage.lastIndex(), 6001);
});
