/**
 * Disk faults on the durable write paths: ENOSPC and EIO during WAL append, backend commit and
 * snapshot save. Real ones from a small tmpfs that fills up, injected ones from the failpoints
 * (ETCDTS_FAILPOINTS, server/util/failpoint.ts). Each must end with the member stopped cleanly (exit code 1,
 * a fatal log line naming the cause, never a hang), the failed write not acknowledged, and after
 * the fault is gone and the member restarted, every acknowledged write present.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMember, type MemberProcess } from "../support/launcher.js";
import { AckedWrites } from "../support/acked-writes.js";
import { grpcClient } from "../support/grpc-client.js";
import { mountSkipReason, mountTmpfs, type Tmpfs } from "../support/tmpfs.js";
import { FAILPOINT_ENV } from "../../server/util/failpoint.js";

const STOP_TIMEOUT_MS = 30000;

/** The member must stop by itself once a put failed: exit code 1, within a bound. */
async function expectCleanStop(m: MemberProcess, cause: RegExp): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([m.exited, new Promise<"running">((r) => (timer = setTimeout(() => r("running"), STOP_TIMEOUT_MS)))]);
  clearTimeout(timer);
  if (code === "running") {
    await m.kill("SIGKILL");
    assert.fail(`the member kept running after a failed durable write:\n${m.log().slice(-2000)}`);
  }
  assert.equal(code, 1, `exit code 1 (a clean fatal stop), got ${String(code)}:\n${m.log().slice(-2000)}`);
  const fatal = m.log().split("\n").filter((l) => l.includes('"level":"fatal"'));
  assert.equal(fatal.length, 1, `one fatal line:\n${m.log().slice(-2000)}`);
  assert.match(fatal[0]!, cause);
}

async function putOne(endpoint: string, key: string): Promise<void> {
  const kv = grpcClient(endpoint, "KV");
  try {
    await kv.call("Put", { key: Buffer.from(key), value: Buffer.from("v") });
  } finally {
    kv.close();
  }
}

/** After the fault: restart on the same storage, read back every acknowledged write, write again. */
async function restartAndVerify(members: MemberProcess[], dataDir: string, writes: AckedWrites, flags: readonly string[] = []): Promise<void> {
  const again = await startMember("etcd-ts", { dataDir, flags });
  members.push(again);
  await writes.verify(again.endpoint);
  await putOne(again.endpoint, "after-the-fault");
  await again.kill("SIGTERM");
}

interface FailpointCase {
  readonly point: "walWrite" | "walSync" | "backendCommit" | "snapWrite";
  readonly code: "EIO" | "ENOSPC";
  /** The call from which on the point fails (after start-up and some acknowledged puts). */
  readonly from: number;
  readonly flags?: readonly string[];
  /** The fatal line's message. */
  readonly fatal: string;
}

const FAILPOINT_CASES: readonly FailpointCase[] = [
  { point: "walWrite", code: "EIO", from: 60, fatal: "failed to handle raft ready" },
  { point: "walWrite", code: "ENOSPC", from: 60, fatal: "failed to handle raft ready" },
  { point: "walSync", code: "EIO", from: 60, fatal: "failed to handle raft ready" },
  { point: "walSync", code: "ENOSPC", from: 60, fatal: "failed to handle raft ready" },
  // The backend commits a batch every 100 ms (--backend-batch-interval), not once per put: the 8th
  // commit comes within the first second of puts, whatever the machine's speed.
  { point: "backendCommit", code: "EIO", from: 8, fatal: "failed to commit a backend transaction" },
  { point: "backendCommit", code: "ENOSPC", from: 8, fatal: "failed to commit a backend transaction" },
  // The first snapshot, once 50 entries are applied.
  { point: "snapWrite", code: "EIO", from: 1, flags: ["--snapshot-count=50"], fatal: "failed to save snapshot" },
  { point: "snapWrite", code: "ENOSPC", from: 1, flags: ["--snapshot-count=50"], fatal: "failed to save snapshot" },
];

describe("injected file system faults (failpoints)", () => {
  const members: MemberProcess[] = [];
  after(async () => Promise.all(members.map((m) => m.dispose())));

  for (const c of FAILPOINT_CASES) {
    test(`${c.code} at ${c.point}: the member stops, nothing acknowledged is lost`, async () => {
      const flags = c.flags ?? [];
      const m = await startMember("etcd-ts", { flags, env: { [FAILPOINT_ENV]: `${c.point}=${c.code}@${c.from}` } });
      members.push(m);
      assert.match(m.log(), new RegExp(`${FAILPOINT_ENV} is set`), "the server says failpoints are armed");
      const writes = new AckedWrites();
      await writes.putUntilFailure(m.endpoint, { prefix: "k", count: 3000, valueBytes: 100, concurrency: 4 });
      assert.ok(writes.firstError, "a put failed once the fault hit");
      assert.ok(writes.acked.size > 0, "some puts were acknowledged before the fault");
      await expectCleanStop(m, new RegExp(`"msg":"${c.fatal}".*${c.code}.*failpoint ${c.point}|${c.code}.*failpoint ${c.point}.*"msg":"${c.fatal}"`));
      await restartAndVerify(members, m.dataDir, writes, flags);
    });
  }
});

describe("a file system that fills up (tmpfs)", () => {
  const skip = mountSkipReason();
  if (skip) console.log(`# skipping the tmpfs disk-full tests: ${skip}`);
  const members: MemberProcess[] = [];
  const mounts: Tmpfs[] = [];
  const roots: string[] = [];
  after(async () => {
    await Promise.all(members.map((m) => m.kill("SIGKILL")));
    for (const t of mounts) t.unmount();
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  test("ENOSPC during WAL append: the member stops; after the disk grows every acknowledged write is there", { skip }, async () => {
    const root = mkdtempSync(join(tmpdir(), "enospc-wal-"));
    roots.push(root);
    const fs = mountTmpfs(join(root, "walfs"), 1024 * 1024);
    mounts.push(fs);
    const flags = [`--wal-dir=${join(fs.dir, "wal")}`];
    const m = await startMember("etcd-ts", { dataDir: root, flags });
    members.push(m);
    const writes = new AckedWrites();
    await writes.putUntilFailure(m.endpoint, { prefix: "k", count: 3000, valueBytes: 2000, concurrency: 4 });
    assert.ok(writes.firstError && writes.acked.size > 100, `${writes.acked.size} acknowledged before the disk filled up`);
    await expectCleanStop(m, /"msg":"failed to handle raft ready".*ENOSPC|ENOSPC.*"msg":"failed to handle raft ready"/);
    fs.resize(64 * 1024 * 1024);
    await restartAndVerify(members, root, writes, flags);
  });

  test("a full disk under the backend (lmdb reports EIO): the member stops; after the disk grows every acknowledged write is there", { skip }, async () => {
    const root = mkdtempSync(join(tmpdir(), "enospc-db-"));
    roots.push(root);
    // The data dir (backend, snapshots) on the small tmpfs; the WAL and the log on the disk.
    const fs = mountTmpfs(join(root, "data"), 1024 * 1024);
    mounts.push(fs);
    const flags = [`--wal-dir=${join(root, "wal")}`];
    const m = await startMember("etcd-ts", { dataDir: root, flags });
    members.push(m);
    const writes = new AckedWrites();
    await writes.putUntilFailure(m.endpoint, { prefix: "k", count: 3000, valueBytes: 2000, concurrency: 4 });
    assert.ok(writes.firstError && writes.acked.size > 50, `${writes.acked.size} acknowledged before the disk filled up`);
    await expectCleanStop(m, /Input\/output error \(EIO\)".*"msg":"failed to commit a backend transaction"/);
    fs.resize(64 * 1024 * 1024);
    await restartAndVerify(members, root, writes, flags);
  });
});
