import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { armFailpoints, armFailpointsFromEnv, failpointError, FailpointSpecError, hitFailpoint, parseFailpoints } from "../../server/util/failpoint.js";
import { Wal, WalError } from "../../server/wal/index.js";
import { Backend, BackendFailedError } from "../../server/backend/backend.js";
import { ent, tempDir } from "../wal/helpers.js";

afterEach(() => void armFailpoints(""));

test("spec: crash points (bare names) and error points (name=CODE, name=CODE@N); an unknown error point or code is an error", () => {
  const p = parseFailpoints("walWrite=EIO, snapWrite=ENOSPC@3,backendCommit=EIO@1,raftAfterSaveSnapWal");
  assert.deepEqual(p.errors, new Map([
    ["walWrite", { code: "EIO", from: 1 }],
    ["snapWrite", { code: "ENOSPC", from: 3 }],
    ["backendCommit", { code: "EIO", from: 1 }],
  ]));
  assert.deepEqual([...p.crash], ["raftAfterSaveSnapWal"]);
  assert.equal(parseFailpoints(" ").errors.size, 0);
  for (const bad of ["walWrite=EPERM", "nope=EIO", "walWrite=EIO@0", "walWrite=EIO@x", "wal write"]) {
    assert.throws(() => parseFailpoints(bad), FailpointSpecError, bad);
  }
  assert.equal(armFailpointsFromEnv({}), undefined);
  assert.equal(armFailpointsFromEnv({ ETCDTS_FAILPOINTS: "walSync=EIO@2" }), "walSync=EIO@2");
  assert.throws(() => armFailpointsFromEnv({ ETCDTS_FAILPOINTS: "walSync=EBADF" }), FailpointSpecError);
  armFailpointsFromEnv({});
});

test("a point lets N-1 calls through, then fails every call with an errno error naming it", () => {
  assert.equal(failpointError("walWrite"), undefined, "unarmed");
  armFailpoints("walWrite=ENOSPC@3");
  hitFailpoint("walWrite");
  hitFailpoint("walWrite");
  hitFailpoint("walSync"); // another point is not armed
  for (let i = 0; i < 3; i++) {
    assert.throws(
      () => hitFailpoint("walWrite"),
      (e: NodeJS.ErrnoException) => e.code === "ENOSPC" && e.errno === -28 && e.syscall === "walWrite" && /failpoint walWrite/.test(e.message),
    );
  }
  armFailpoints("");
  hitFailpoint("walWrite");
});

test("WAL: an injected EIO fails that save and every later one (no retry); what was acknowledged before is read back", async (t) => {
  const { root, cleanup } = await tempDir("fp-wal-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, { memberId: 1n, clusterId: 2n });
  await wal.save({ term: 1, vote: 1n, commit: 1 }, [ent(1)], true);
  armFailpoints("walSync=EIO");
  await assert.rejects(wal.save({ term: 1, vote: 1n, commit: 2 }, [ent(2)], true), (e: NodeJS.ErrnoException) => e.code === "EIO");
  armFailpoints("");
  await assert.rejects(wal.save({ term: 1, vote: 1n, commit: 3 }, [ent(3)], true), (e: WalError) => e.code === "EFAILED");
  await wal.close();
  const r = await Wal.open(dir, { index: 0, term: 0 });
  // Entry 2 was written before its sync failed: it may be there (never acknowledged); entry 1 must be.
  assert.deepEqual(r.entries[0], ent(1));
  assert.ok(r.entries.length <= 2);
  await r.wal.close();
});

test("backend: a failed commit is reported once to onFailure and refuses every later write", async (t) => {
  const { root, cleanup } = await tempDir("fp-be-");
  t.after(cleanup);
  const be = Backend.open(join(root, "db"));
  const failures: Error[] = [];
  be.onFailure((e) => failures.push(e));
  const b = be.bucket("key");
  b.put(Buffer.from("a"), Buffer.from("1"));
  await be.committed();
  armFailpoints("backendCommit=EIO");
  b.put(Buffer.from("b"), Buffer.from("2"));
  await be.committed().catch(() => undefined);
  await new Promise((r) => setImmediate(r));
  assert.equal(failures.length, 1);
  assert.match(failures[0]!.message, /EIO.*failpoint backendCommit/);
  assert.throws(() => b.put(Buffer.from("c"), Buffer.from("3")), BackendFailedError);
  assert.ok(be.failed());
  armFailpoints("");
  await be.close();
});

test("a crash point armed by name kills the process with SIGKILL when reached, and only that one", async () => {
  const { spawnSync } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const mod = fileURLToPath(new URL("../../server/util/failpoint.js", import.meta.url));
  const script = `const f = await import(${JSON.stringify(mod)}); f.failpoint("other"); process.stdout.write("before;"); f.failpoint("stepTwo"); process.stdout.write("after");`;
  const run = (spec: string) => spawnSync(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, ETCDTS_FAILPOINTS: spec }, encoding: "utf8" });
  const armed = run("stepTwo,walSync=EIO");
  assert.equal(armed.signal, "SIGKILL");
  assert.equal(armed.stdout, "before;");
  assert.match(armed.stderr, /failpoint reached; killing the process.*stepTwo/);
  const unarmed = run("");
  assert.equal(unarmed.status, 0);
  assert.equal(unarmed.stdout, "before;after");
});
