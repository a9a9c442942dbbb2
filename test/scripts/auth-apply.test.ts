/**
 * `etcdkit auth apply` against one member of etcd 3.4.23 and of etcd-ts, the same steps on each: the
 * first apply creates everything and enables auth, a re-run changes nothing and says so, the file's
 * user writes under its prefix and is refused outside it, a changed password file is applied, what
 * the file does not name is kept until --prune. The lines printed must be the same on both servers.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAuthFile } from "../../ansible-free-scripts/auth/auth-file.js";
import { applyAuth } from "../../ansible-free-scripts/auth/auth-apply.js";
import { etcdctl } from "../support/etcdctl.js";
import { startMember, type Flavor, type MemberProcess } from "../support/launcher.js";

const FLAVORS: Flavor[] = ["etcd", "etcd-ts"];
const FILE = `
users:
  root: { passwordEnv: AUTHKIT_ROOT_PW, roles: [root] }
  svc: { passwordFile: svc.pw, roles: [svc] }
roles:
  svc:
    permissions:
      - { key: /services/svc/, prefix: true, type: readwrite }
      - { key: /config, type: read }
`;

describe("etcdkit auth apply, etcd 3.4 and etcd-ts", { timeout: 300_000 }, () => {
  const members = new Map<Flavor, MemberProcess>();
  const dir = mkdtempSync(join(tmpdir(), "auth-apply-"));
  const env = { AUTHKIT_ROOT_PW: "root-secret" };
  before(async () => {
    writeFileSync(join(dir, "auth.yaml"), FILE);
    writeFileSync(join(dir, "svc.pw"), "svc-one\n");
    for (const f of FLAVORS) members.set(f, await startMember(f));
  });
  after(async () => {
    for (const m of members.values()) await m.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Applies on both servers; returns the printed lines (the same on both, checked). */
  async function applyBoth(opts: { prune?: boolean; dryRun?: boolean } = {}): Promise<string[]> {
    const got = new Map<Flavor, string[]>();
    for (const f of FLAVORS) {
      const lines: string[] = [];
      const m = members.get(f)!;
      await applyAuth(loadAuthFile(join(dir, "auth.yaml")), { endpoints: [m.endpoint], env, log: (l) => lines.push(l.replace(m.clientUrl, "<url>").replace(dir, "<dir>")), ...opts });
      got.set(f, lines);
    }
    assert.deepEqual(got.get("etcd-ts"), got.get("etcd"));
    return got.get("etcd")!;
  }

  const ctl = (f: Flavor, ...args: string[]) => etcdctl(members.get(f)!.endpoint, args);

  test("first apply creates and enables, a re-run changes nothing", async () => {
    const first = await applyBoth();
    assert.equal(first.at(-2), "auth: enable authentication");
    assert.match(first.at(-1)!, /^auth: 9 changes made/);
    assert.deepEqual(await applyBoth(), ["auth: nothing to change at <url>: users, roles and permissions match <dir>/auth.yaml, auth is enabled"]);
    for (const f of FLAVORS) {
      const anon = await ctl(f, "get", "x");
      assert.match(anon.stderr, /etcdserver: user name is empty/, f);
      assert.equal((await ctl(f, "--user", "svc:svc-one", "put", "/services/svc/a", "1")).code, 0, f);
      const out = await ctl(f, "--user", "svc:svc-one", "put", "/services/other/a", "1");
      assert.notEqual(out.code, 0);
      assert.match(out.stderr, /Error: etcdserver: permission denied/, f);
    }
  });

  test("a changed password and things the file does not name: kept, then --prune", async () => {
    writeFileSync(join(dir, "svc.pw"), "svc-two\n");
    for (const f of FLAVORS) {
      assert.equal((await ctl(f, "--user", "root:root-secret", "user", "add", "extra:x")).code, 0);
      assert.equal((await ctl(f, "--user", "root:root-secret", "role", "grant-permission", "svc", "write", "/zzz")).code, 0);
    }
    assert.deepEqual(await applyBoth(), [
      'keep permission WRITE "/zzz" of role svc (not in the auth file; --prune deletes it)',
      "keep user extra (not in the auth file; --prune deletes it)",
      "auth: set the password of user svc",
      "auth: 1 change made at <url>",
    ]);
    for (const f of FLAVORS) assert.equal((await ctl(f, "--user", "svc:svc-two", "get", "/services/svc/a")).code, 0, f);
    const dry = await applyBoth({ prune: true, dryRun: true });
    assert.equal(dry.at(-1), "auth: dry run, 2 change(s) planned, none made");
    const pruned = await applyBoth({ prune: true });
    assert.deepEqual(pruned, ['auth: revoke WRITE "/zzz" from role svc (--prune)', "auth: delete user extra (--prune)", "auth: 2 changes made at <url>"]);
    assert.equal((await applyBoth({ prune: true })).length, 1);
  });

  test("a wrong root password once auth is on is refused before any change", async () => {
    for (const f of FLAVORS) {
      await assert.rejects(
        applyAuth(loadAuthFile(join(dir, "auth.yaml")), { endpoints: [members.get(f)!.endpoint], env: { AUTHKIT_ROOT_PW: "wrong" } }),
        /the root password from the auth file does not authenticate \(etcdserver: authentication failed, invalid user ID or password\)/,
      );
    }
  });
});
