/**
 * A local cluster's port block stays reserved for the cluster's life, not just while `up` runs: a
 * member killed in a test (or with `etcdkit local kill`) must get its ports back on restart, and
 * another cluster started meanwhile must not take them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { lockBlock } from "../../ansible-free-scripts/local/ports.js";
import { packageRoot } from "../../server/util/package-root.js";

test("a block held for a cluster stays locked after the process that took it ends, until the cluster's state file goes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "etcdkit-port-lock-"));
  const stateFile = join(dir, "state.json");
  writeFileSync(stateFile, "{}");
  const base = 61_000 + Math.floor(Math.random() * 4000);
  const ports = join(packageRoot(), "dist", "ansible-free-scripts", "local", "ports.js");
  try {
    // another process takes the block, hands it to the cluster, and exits (as `etcdkit local up` does)
    const child = await execa(process.execPath, ["--input-type=module", "-e", `const { lockBlock } = await import(${JSON.stringify(ports)}); const l = lockBlock(${base}); if (!l) process.exit(3); l.holdWhile(${JSON.stringify(stateFile)});`]);
    assert.equal(child.exitCode, 0);
    assert.equal(lockBlock(base), undefined, "still reserved: the cluster's state file exists");
    rmSync(stateFile);
    const mine = lockBlock(base);
    assert.ok(mine, "free once the cluster is down (state file gone)");
    mine.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a block taken by a process that ended without handing it to a cluster is free again", async () => {
  const base = 65_100 + Math.floor(Math.random() * 400);
  const ports = join(packageRoot(), "dist", "ansible-free-scripts", "local", "ports.js");
  const child = await execa(process.execPath, ["--input-type=module", "-e", `const { lockBlock } = await import(${JSON.stringify(ports)}); if (!lockBlock(${base})) process.exit(3);`]);
  assert.equal(child.exitCode, 0);
  const mine = lockBlock(base);
  assert.ok(mine, "the dead process's lock is stale");
  mine.release();
});
