import { test } from "node:test";
import assert from "node:assert/strict";
import { checkBackendWithinLog, InconsistentStorageError } from "../../server/etcdserver/storage-consistency.js";

const v = { walDir: "/d/member/wal", backendPath: "/d/member/snap/db" };
const repaired = { file: "/d/member/wal/0000000000000000-0000000000000000.wal", offset: 4096 };

test("a backend ahead of the log after the WAL's tail was cut refuses the start, naming the files and the indexes", () => {
  checkBackendWithinLog({ ...v, consistentIndex: 0, lastLogIndex: 0, walRepaired: repaired });
  checkBackendWithinLog({ ...v, consistentIndex: 42, lastLogIndex: 42, walRepaired: repaired });
  assert.throws(
    () => checkBackendWithinLog({ ...v, consistentIndex: 604, lastLogIndex: 80, walRepaired: repaired }),
    (e: Error) =>
      e instanceof InconsistentStorageError &&
      e.message.includes("/d/member/snap/db has applied raft entries up to index 604") &&
      e.message.includes(`${repaired.file} was cut at offset 4096`) &&
      e.message.includes("the WAL in /d/member/wal") &&
      e.message.includes("only up to index 80"),
  );
});

test("without a repair, a backend ahead of the log (a snapshot from the leader just installed) is only logged", () => {
  const warns: string[] = [];
  checkBackendWithinLog({ ...v, consistentIndex: 604, lastLogIndex: 550 }, { warn: (m) => warns.push(m) });
  assert.equal(warns.length, 1);
  assert.match(warns[0]!, /consistent index 604, last log index 550/);
});
