/**
 * etcd's file modes (pkg/fileutil PrivateDirMode / PrivateFileMode): every directory of a member's
 * data 0700, every file 0600. A data dir found wider at start-up is warned about with etcd's text
 * and narrowed (etcd only warns); files of an older version are narrowed too.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMember, type MemberProcess } from "../support/launcher.js";
import { etcdctl } from "../support/etcdctl.js";

/** Every path under `dir` (itself included) with its permission bits. */
function modes(dir: string): Map<string, { mode: number; isDir: boolean }> {
  const out = new Map<string, { mode: number; isDir: boolean }>();
  const walk = (p: string) => {
    const st = statSync(p);
    out.set(p, { mode: st.mode & 0o777, isDir: st.isDirectory() });
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(dir);
  return out;
}

function assertPrivate(dir: string): void {
  const all = modes(dir);
  for (const [p, { mode, isDir }] of all) {
    assert.equal(mode.toString(8), isDir ? "700" : "600", `${p} is ${mode.toString(8)}`);
  }
}

describe("file modes of a member's data", () => {
  const members: MemberProcess[] = [];
  after(async () => Promise.all(members.map((m) => m.dispose())));

  test("data, member, wal and snap dirs are 0700; backend, WAL segments, snapshots and locks 0600", async () => {
    const m = await startMember("etcd-ts", { flags: ["--snapshot-count=10"] });
    members.push(m);
    for (let i = 0; i < 25; i++) assert.equal((await etcdctl(m.endpoint, ["put", `k${i}`, `v${i}`])).code, 0);
    const data = join(m.dataDir, "data");
    const snapDir = join(data, "member", "snap");
    // The snapshot is saved after the puts are applied; wait for its file.
    for (let t = 0; t < 100 && !readdirSync(snapDir).some((n) => n.endsWith(".snap")); t++) await new Promise((r) => setTimeout(r, 50));
    const names = [...modes(data).keys()].map((p) => p.slice(data.length));
    for (const want of ["/member", "/member/wal", "/member/snap", "/member/snap/db", "/member/snap/db-lock", "/member/wal/wal.lock"]) {
      assert.ok(names.includes(want), `${want} exists: ${names.join(" ")}`);
    }
    assert.ok(names.some((n) => n.endsWith(".snap")), `a snapshot file: ${names.join(" ")}`);
    assert.ok(names.some((n) => n.endsWith(".wal")));
    assertPrivate(data);
    await m.kill("SIGTERM");
  });

  test("a data dir with a wider mode is warned about with etcd's text and fixed; wider files are narrowed", async () => {
    const first = await startMember("etcd-ts");
    members.push(first);
    assert.equal((await etcdctl(first.endpoint, ["put", "a", "1"])).code, 0);
    await first.kill("SIGTERM");
    const data = join(first.dataDir, "data");
    chmodSync(data, 0o755);
    chmodSync(join(data, "member"), 0o755);
    chmodSync(join(data, "member", "snap", "db"), 0o644);
    const seg = readdirSync(join(data, "member", "wal")).find((n) => n.endsWith(".wal"))!;
    chmodSync(join(data, "member", "wal", seg), 0o644);

    const again = await startMember("etcd-ts", { dataDir: first.dataDir });
    members.push(again);
    const log = again.log();
    const text = `check file permission: directory \\"${data}\\" exist, but the permission is \\"drwxr-xr-x\\". The recommended permission is \\"-rwx------\\" to prevent possible unprivileged access to the data.`;
    assert.ok(log.includes(text), `etcd's warning in the log:\n${log.slice(-3000)}`);
    assertPrivate(data);
    assert.equal((await etcdctl(again.endpoint, ["get", "a", "--print-value-only"])).stdout.trim(), "1");
    await again.kill("SIGTERM");
  });

  test("a data dir created by hand beforehand with 0755 is narrowed before anything is written in it", async () => {
    const parent = mkdtempSync(join(tmpdir(), "etcd-ts-modes-"));
    const data = join(parent, "data");
    mkdirSync(data);
    chmodSync(data, 0o755);
    const m = await startMember("etcd-ts", { dataDir: parent });
    members.push(m);
    assertPrivate(data);
    await m.kill("SIGTERM");
  });
});
