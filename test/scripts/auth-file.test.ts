/** The auth file's parser (strict, no clear-text passwords) and the plan (idempotence, --prune). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAuthSpec, prefixEnd, resolvePasswords, loadAuthFile } from "../../ansible-free-scripts/auth/auth-file.js";
import { planAuth, describeAction, type ClusterAuthState } from "../../ansible-free-scripts/auth/auth-plan.js";
import { credentialsFromFlags } from "../../ansible-free-scripts/auth/user-flags.js";

const DOC = {
  users: { root: { passwordEnv: "ROOT_PW", roles: ["root"] }, svc: { passwordFile: "svc.pw", roles: ["svc"] } },
  roles: { svc: { permissions: [{ key: "/services/svc/", prefix: true, type: "readwrite" }, { key: "/config", type: "read" }, { key: "a", rangeEnd: "c", type: "WRITE" }, { key: "z", fromKey: true, type: "read" }] } },
};

test("a good file: ranges as etcd stores them, root role implicit", () => {
  const s = parseAuthSpec(DOC, "/x/auth.yaml");
  assert.deepEqual(s.roles.map((r) => r.name), ["root", "svc"]);
  const p = s.roles[1]!.permissions;
  assert.deepEqual(p.map((x) => [x.type, x.key.toString(), x.rangeEnd.toString("latin1")]), [
    ["READWRITE", "/services/svc/", "/services/svc0"],
    ["READ", "/config", ""],
    ["WRITE", "a", "c"],
    ["READ", "z", "\0"],
  ]);
  assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
});

test("refusals name the field", () => {
  const bad: [unknown, RegExp][] = [
    [{ users: { root: { password: "x", roles: ["root"] } } }, /users\.root\.password: passwords are never written in the file/],
    [{ users: { root: { passwordEnv: "A", passwordFile: "f", roles: ["root"] } } }, /users\.root: exactly one of passwordEnv/],
    [{ users: { root: { roles: ["root"] } } }, /users\.root: exactly one of passwordEnv/],
    [{ users: { root: { passwordEnv: "A" } } }, /users\.root: etcd enables auth only with a root user holding the root role/],
    [{ users: { bob: { passwordEnv: "A" } } }, /users\.root/],
    [{ users: { root: { passwordEnv: "A", roles: ["root", "nope"] } } }, /role "nope" is not defined/],
    [{ users: { root: { passwordEnv: "A b", roles: ["root"] } } }, /passwordEnv: an environment variable name/],
    [{ users: { root: { passwordEnv: "A", roles: ["root"] } }, roles: { r: { permissions: [{ key: "b", rangeEnd: "a", type: "read" }] } } }, /rangeEnd: must sort after key/],
    [{ users: { root: { passwordEnv: "A", roles: ["root"] } }, roles: { r: { permissions: [{ key: "b", type: "rw" }] } } }, /type: READ, WRITE or READWRITE/],
    [{ users: { root: { passwordEnv: "A", roles: ["root"] } }, roles: { r: { permissions: [{ key: "b", type: "read", prefix: true, fromKey: true }] } } }, /at most one of prefix/],
    [{ users: { root: { passwordEnv: "A", roles: ["root"] } }, roles: { root: { permissions: [{ key: "b", type: "read" }] } } }, /roles\.root: the root role holds every permission/],
    [{ users: { root: { passwordEnv: "A", roles: ["root"] } }, extra: 1 }, /\(top\)\.extra: unknown key/],
    [["x"], /a mapping/],
  ];
  for (const [doc, re] of bad) assert.throws(() => parseAuthSpec(doc, "/x/a.yaml"), re, JSON.stringify(doc));
});

test("passwords: from the variable or the file (relative to the auth file), one trailing newline dropped; missing ones refused", () => {
  const dir = mkdtempSync(join(tmpdir(), "authfile-"));
  try {
    writeFileSync(join(dir, "auth.yaml"), JSON.stringify(DOC));
    writeFileSync(join(dir, "svc.pw"), "pw with space\n");
    const s = loadAuthFile(join(dir, "auth.yaml"));
    assert.deepEqual([...resolvePasswords(s, { ROOT_PW: "r" })], [["root", "r"], ["svc", "pw with space"]]);
    assert.throws(() => resolvePasswords(s, {}), /users\.root: environment variable ROOT_PW is not set/);
    rmSync(join(dir, "svc.pw"));
    assert.throws(() => resolvePasswords(s, { ROOT_PW: "r" }), /users\.svc: cannot read password file .*svc\.pw \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("plan: everything on an empty cluster, nothing on a matching one, --prune removes only what the file does not name", () => {
  const s = parseAuthSpec(DOC, "/x/auth.yaml");
  const empty: ClusterAuthState = { enabled: false, users: new Map(), roles: new Map() };
  const first = planAuth(s, empty).actions.map(describeAction);
  assert.equal(first[0], "add role root");
  assert.equal(first.at(-1), "enable authentication");
  assert.equal(first.length, 1 + 1 + 4 + 2 + 2 + 1);
  const svcPerms = s.roles[1]!.permissions.map((p) => ({ type: { READ: 0, WRITE: 1, READWRITE: 2 }[p.type], key: p.key, rangeEnd: p.rangeEnd }));
  const matching: ClusterAuthState = { enabled: true, users: new Map([["root", ["root"]], ["svc", ["svc"]]]), roles: new Map([["root", []], ["svc", svcPerms]]) };
  assert.deepEqual(planAuth(s, matching), { actions: [], kept: [] });
  const extra: ClusterAuthState = {
    enabled: true,
    users: new Map([["root", ["root"]], ["svc", ["svc", "other"]], ["old", []]]),
    roles: new Map([["root", []], ["svc", [...svcPerms.slice(1), { type: 0, key: Buffer.from("/services/svc/"), rangeEnd: Buffer.from("/services/svc0") }, { type: 1, key: Buffer.from("q"), rangeEnd: Buffer.alloc(0) }]], ["other", []]]),
  };
  const keep = planAuth(s, extra, { passwordsToSet: new Set(["svc"]) });
  assert.deepEqual(keep.actions.map(describeAction), ['grant READWRITE "/services/svc/" to "/services/svc0" to role svc', "set the password of user svc"]);
  assert.deepEqual(keep.kept, ['permission WRITE "q" of role svc', "role other of user svc", "user old", "role other"]);
  const prune = planAuth(s, extra, { prune: true });
  assert.deepEqual(prune.actions.map(describeAction), [
    'grant READWRITE "/services/svc/" to "/services/svc0" to role svc',
    'revoke WRITE "q" from role svc (--prune)',
    "revoke role other from user svc (--prune)",
    "delete user old (--prune)",
    "delete role other (--prune)",
  ]);
  assert.deepEqual(prune.kept, []);
});

test("--user as etcdctl: NAME:PASSWORD, or NAME with --password-file or ETCDCTL_PASSWORD", () => {
  assert.deepEqual(credentialsFromFlags("a:b:c", undefined, {}), { user: "a", password: "b:c" });
  assert.deepEqual(credentialsFromFlags("a", undefined, { ETCDCTL_PASSWORD: "p" }), { user: "a", password: "p" });
  assert.equal(credentialsFromFlags(undefined, undefined, {}), undefined);
  assert.throws(() => credentialsFromFlags("a", undefined, {}), /needs a password/);
  assert.throws(() => credentialsFromFlags(undefined, "f", {}), /--password-file needs --user/);
});
