/** Backend.defrag: gives free pages back to the file system, keeps every row, holds writes while it runs. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Backend } from "../../server/backend/index.js";

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), "etcd-ts-defrag-"));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const b = (s: string) => Buffer.from(s);

/** 4000 rows of 1 KiB, then all but every 100th deleted: a file mostly made of free pages. */
async function fragmented(path: string): Promise<Backend> {
  const be = Backend.open(path);
  const kv = be.bucket("key");
  for (let i = 0; i < 4000; i++) kv.put(b(`k${String(i).padStart(5, "0")}`), Buffer.alloc(1024, i % 251));
  await be.flush();
  for (let i = 0; i < 4000; i++) if (i % 100 !== 0) kv.remove(b(`k${String(i).padStart(5, "0")}`));
  await be.flush();
  return be;
}

describe("backend defrag", () => {
  it("shrinks the file, keeps every row, and the backend stays usable and reopens", async () => {
    const d = dir();
    const path = join(d, "db");
    const be = await fragmented(path);
    const kv = be.bucket("key");
    const rowsBefore = [...kv.getRange()].map((r) => [r.key.toString(), r.value.toString("hex")]);
    const { before, after } = await be.defrag();
    assert.ok(after < before / 4, `size ${before} -> ${after}`);
    assert.equal(be.size(), after);
    assert.deepEqual([...kv.getRange()].map((r) => [r.key.toString(), r.value.toString("hex")]), rowsBefore);
    kv.put(b("after"), b("defrag"));
    await be.flush();
    assert.equal(kv.get(b("after"))?.toString(), "defrag");
    await be.close();
    // no copy and no lock file of the copy left behind
    assert.deepEqual(readdirSync(d).filter((f) => f.includes(".defrag-")), []);
    const again = Backend.open(path);
    assert.equal(again.bucket("key").get(b("after"))?.toString(), "defrag");
    assert.equal([...again.bucket("key").getRange()].length, rowsBefore.length + 1);
    await again.close();
  });

  it("holds writes issued while it runs in one batch, committed to the new file after it", async () => {
    const be = await fragmented(join(dir(), "db"));
    const kv = be.bucket("key");
    const meta = be.bucket("meta");
    const committed: number[] = [];
    be.onBatchCommit((n) => committed.push(n));
    const running = be.defrag();
    const b1 = kv.put(b("during-1"), b("x"));
    const b2 = meta.put(b("ci"), b("7"));
    assert.equal(b1, b2, "held writes share one batch");
    assert.equal(kv.get(b("during-1")), undefined, "not committed while the defragmentation runs");
    await running;
    await be.committed();
    assert.equal(kv.get(b("during-1"))?.toString(), "x");
    assert.equal(meta.get(b("ci"))?.toString(), "7");
    assert.ok(committed.includes(b1));
    assert.ok(be.lastCommittedBatch() >= b1);
    await be.close();
  });

  it("refuses a second defragmentation while one runs", async () => {
    const be = await fragmented(join(dir(), "db"));
    const first = be.defrag();
    await assert.rejects(be.defrag(), /already running/);
    await first;
    await be.close();
  });

  it("a copy left by a crash mid-defragmentation is removed at open; the backend is whole", async () => {
    const d = dir();
    const path = join(d, "db");
    const be = Backend.open(path);
    be.bucket("key").put(b("a"), b("1"));
    await be.close();
    writeFileSync(`${path}.defrag-1`, "partial copy");
    writeFileSync(`${path}.defrag-1-lock`, "");
    const again = Backend.open(path);
    assert.equal(again.bucket("key").get(b("a"))?.toString(), "1");
    assert.ok(!readdirSync(d).some((f) => f.includes(".defrag-")));
    await again.close();
  });
});
