/**
 * Differential: `etcdctl snapshot save` on a member with auth on, etcd 3.4.23 and etcd-ts: root (by
 * password) gets the snapshot; no user gets "user name is empty"; a user without the root role gets
 * "permission denied" (a snapshot is a copy of everything, so etcd gates it as root's).
 * Regression: etcd-ts's server-stream adapter dropped the call's token, so root was refused too; and
 * it answered with the etcdserver errors where etcd 3.4 returns the auth store's own (code Unknown,
 * "auth: user name is empty" / "auth: permission denied"): the texts are compared as they are.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { etcdctl } from "../support/etcdctl.js";
import { startMember, type Flavor, type MemberProcess } from "../support/launcher.js";

const FLAVORS: Flavor[] = ["etcd", "etcd-ts"];

describe("snapshot save with auth on matches etcd 3.4", { timeout: 120_000 }, () => {
  const members = new Map<Flavor, MemberProcess>();
  const dir = mkdtempSync(join(tmpdir(), "auth-snap-"));
  before(async () => {
    for (const f of FLAVORS) {
      const m = await startMember(f);
      members.set(f, m);
      for (const args of [["user", "add", "root:rootpw"], ["user", "grant-role", "root", "root"], ["user", "add", "alice:apw"], ["auth", "enable"]]) {
        const r = await etcdctl(m.endpoint, args);
        assert.equal(r.code, 0, `${f} ${args.join(" ")}: ${r.stderr}`);
      }
    }
  });
  after(async () => {
    for (const m of members.values()) await m.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test("root, no user, a user without the root role", async () => {
    const got: Record<string, unknown[]> = {};
    for (const f of FLAVORS) {
      const ep = members.get(f)!.endpoint;
      const rows: unknown[] = [];
      for (const [who, user] of [["root", ["--user", "root:rootpw"]], ["nobody", []], ["alice", ["--user", "alice:apw"]]] as const) {
        const file = join(dir, `${f}-${who}.db`);
        const r = await etcdctl(ep, [...user, "snapshot", "save", file]);
        const err = r.stderr
          .split("\n")
          .filter((l) => l.startsWith("Error:"))
          .join("\n");
        rows.push({ who, code: r.code, saved: existsSync(file), err });
      }
      got[f] = rows;
    }
    assert.deepEqual(got["etcd-ts"], got.etcd);
    assert.deepEqual((got.etcd![0] as { saved: boolean }).saved, true);
  });
});
