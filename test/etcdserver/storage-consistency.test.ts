import { test } from "node:test";
import assert from "node:assert/strict";
import { checkBackendWithinLog, InconsistentStorageError } from "../../server/etcdserver/storage-consistency.js";

test("a backend ahead of the raft log refuses the start, naming both and the indexes", () => {
  const v = { walDir: "/d/member/wal", backendPath: "/d/member/snap/db" };
  checkBackendWithinLog({ ...v, consistentIndex: 0, lastLogIndex: 0 });
  checkBackendWithinLog({ ...v, consistentIndex: 41, lastLogIndex: 42 });
  checkBackendWithinLog({ ...v, consistentIndex: 42, lastLogIndex: 42 });
  assert.throws(
    () => checkBackendWithinLog({ ...v, consistentIndex: 604, lastLogIndex: 80 }),
    (e: Error) =>
      e instanceof InconsistentStorageError &&
      e.message.includes("/d/member/snap/db has applied raft entries up to index 604") &&
      e.message.includes("the WAL in /d/member/wal") &&
      e.message.includes("only up to index 80"),
  );
});
