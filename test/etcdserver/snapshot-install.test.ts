/**
 * Start-up's comparison of the backend with the newest snapshot (etcd's recoverSnapshotBackend):
 * a backend older than the snapshot is replaced by the database received for it; if that file is
 * missing the member refuses to start with a clear error; received databases the backend no
 * longer needs and temp files of interrupted receptions are removed.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { BackendBehindSnapshotError, recoverBackend } from "../../server/etcdserver/snapshot-install.js";
import { SnapDbReceiver, snapDbPath } from "../../server/snap/index.js";
import { B, NONE, openTempStore, type TempStore } from "../mvcc/helpers.js";

const logger = pino({ level: "silent" });
const stores: TempStore[] = [];
after(async () => {
  for (const t of stores) await t.destroy().catch(() => undefined);
});

/** A store whose consistent index is `ci`, with key `k`. */
async function storeAt(ci: number, k: string): Promise<TempStore> {
  const t = openTempStore();
  stores.push(t);
  t.store.write(ci, (txn) => txn.put(B(k), B("v"), 0n));
  await t.backend.flush();
  return t;
}

describe("start-up recovery of a backend older than the snapshot", () => {
  it("refuses to start when the backend is behind the snapshot and no database was received for it", async () => {
    const t = await storeAt(10, "old");
    const snapDir = join(t.dir, "snap");
    mkdirSync(snapDir, { recursive: true });
    await assert.rejects(recoverBackend(t.store, snapDir, 50, logger), (e: Error) => {
      assert.ok(e instanceof BackendBehindSnapshotError);
      assert.match(e.message, /consistent index 10\) is older than the newest snapshot \(index 50\).*0000000000000032\.snap\.db.*missing.*refusing to start/);
      return true;
    });
  });

  it("swaps in the database received for the snapshot, then removes what is no longer needed", async () => {
    const leader = await storeAt(60, "new");
    const t = await storeAt(10, "old");
    const snapDir = join(t.dir, "snap");
    mkdirSync(snapDir, { recursive: true });
    // a database received for index 50 (the leader's copy covers 60), as the peer service saves it
    const copy = join(leader.dir, "copy.db");
    await leader.backend.backup(copy);
    const rx = await SnapDbReceiver.open(snapDir, 50);
    await rx.write(readFileSync(copy));
    await rx.commit();
    writeFileSync(snapDbPath(snapDir, 40), "older, not needed");
    writeFileSync(join(snapDir, "0000000000000046.snap.db.123.0.part"), "interrupted");
    writeFileSync(join(snapDir, "outgoing-123.db"), "interrupted send");

    await recoverBackend(t.store, snapDir, 50, logger);
    assert.equal(t.store.consistentIndex(), 60);
    assert.equal(t.store.range(B("new"), NONE).kvs.length, 1, "the received state is in");
    assert.equal(t.store.range(B("old"), NONE).kvs.length, 0, "the old state is gone");
    assert.deepEqual(readdirSync(snapDir), [], "received databases and leftovers are removed");

    // and the next start finds nothing to do
    await t.reopen();
    await recoverBackend(t.store, snapDir, 50, logger);
    assert.equal(t.store.consistentIndex(), 60);
    assert.ok(!existsSync(snapDbPath(snapDir, 50)));
  });
});
