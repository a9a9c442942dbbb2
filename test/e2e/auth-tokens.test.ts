/**
 * Tokens on etcd-ts, through the JSON gateway (the token in the `Authorization` header, as etcd's
 * gateway takes it): a JWT (--auth-token jwt, ES256 keys) works until the auth store changes, then
 * is refused as old; a simple token is accepted, one the member does not hold is refused (its TTL on
 * the member's clock: test/etcdserver/inproc-auth-tokens.test.ts); /v3/auth/* routes.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { etcdctl } from "../support/etcdctl.js";
import { startMember, type MemberProcess } from "../support/launcher.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function post(m: MemberProcess, path: string, body: object, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${m.clientUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: token } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function setUp(m: MemberProcess): Promise<void> {
  for (const a of [["user", "add", "root:rootpw"], ["user", "add", "alice:apw"], ["role", "add", "r1"], ["role", "grant-permission", "r1", "readwrite", "foo"], ["user", "grant-role", "alice", "r1"], ["auth", "enable"]]) {
    const r = await etcdctl(m.endpoint, a);
    assert.equal(r.code, 0, `${a.join(" ")}: ${r.stderr}`);
  }
}

describe("auth tokens on etcd-ts", { timeout: 120_000 }, () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  test("JWT: issued over /v3/auth/authenticate, accepted, refused as old once the auth store changes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "jwt-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeFileSync(join(dir, "priv.pem"), privateKey.export({ type: "sec1", format: "pem" }));
    writeFileSync(join(dir, "pub.pem"), publicKey.export({ type: "spki", format: "pem" }));
    const m = await startMember("etcd-ts", { flags: [`--auth-token=jwt,pub-key=${join(dir, "pub.pem")},priv-key=${join(dir, "priv.pem")},sign-method=ES256`] });
    cleanup.push(() => m.dispose());
    await setUp(m);

    const wrong = await post(m, "/v3/auth/authenticate", { name: "alice", password: "nope" });
    assert.equal(wrong.json.message, "etcdserver: authentication failed, invalid user ID or password");
    const auth = await post(m, "/v3/auth/authenticate", { name: "alice", password: "apw" });
    const token = auth.json.token as string;
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, "a JWT");
    assert.equal((await post(m, "/v3/kv/put", { key: b64("foo"), value: b64("1") }, token)).status, 200);
    assert.equal((await post(m, "/v3/kv/put", { key: b64("foo"), value: b64("1") })).json.message, "etcdserver: user name is empty");
    assert.equal((await post(m, "/v3/kv/put", { key: b64("zzz"), value: b64("1") }, token)).json.message, "etcdserver: permission denied");
    assert.equal((await post(m, "/v3/kv/put", { key: b64("foo"), value: b64("1") }, "not.a.token")).json.message, "etcdserver: invalid auth token");

    // the auth store moves (a role added by root over the gateway): the token's revision is old now
    const root = (await post(m, "/v3/auth/authenticate", { name: "root", password: "rootpw" })).json.token as string;
    assert.equal((await post(m, "/v3/auth/role/add", { name: "r2" }, root)).status, 200);
    assert.equal((await post(m, "/v3/kv/range", { key: b64("foo") }, token)).json.message, "etcdserver: revision of auth store is old");
    const fresh = (await post(m, "/v3/auth/authenticate", { name: "alice", password: "apw" })).json.token as string;
    const got = await post(m, "/v3/kv/range", { key: b64("foo") }, fresh);
    assert.equal((got.json.kvs as { value: string }[])[0]!.value, b64("1"));
    assert.deepEqual((await post(m, "/v3/auth/user/list", {}, fresh)).json.message, "etcdserver: permission denied");
    // (etcdctl's auth enable added the root role)
    assert.deepEqual((await post(m, "/v3/auth/role/list", {}, root)).json.roles, ["r1", "r2", "root"]);
  });

  test("the gateway's server streams carry the token: /v3/maintenance/snapshot is root's, as etcd's", async () => {
    const m = await startMember("etcd-ts");
    cleanup.push(() => m.dispose());
    await setUp(m);
    const stream = async (token?: string) => {
      const res = await fetch(`${m.clientUrl}/v3/maintenance/snapshot`, { method: "POST", headers: token ? { authorization: token } : {}, body: "{}" });
      return (await res.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l) as { result?: { blob?: string }; error?: { message: string } });
    };
    const root = (await post(m, "/v3/auth/authenticate", { name: "root", password: "rootpw" })).json.token as string;
    const alice = (await post(m, "/v3/auth/authenticate", { name: "alice", password: "apw" })).json.token as string;
    const asRoot = await stream(root);
    assert.ok(asRoot.length > 0 && asRoot.every((l) => l.result?.blob !== undefined), `root gets the snapshot: ${JSON.stringify(asRoot[0]).slice(0, 200)}`);
    // etcd's authMaintenanceServer answers with the auth store's own texts (auth-maintenance-differential.test.ts)
    assert.equal((await stream(alice))[0]?.error?.message, "auth: permission denied");
    assert.equal((await stream())[0]?.error?.message, "auth: user name is empty");
  });

  test("simple token: issued over the gateway, accepted; one this member never assigned gets 401 invalid auth token", async () => {
    // the TTL itself runs on the member's clock: test/etcdserver/inproc-auth-tokens.test.ts drives it without sleeping;
    // an expired token is one the member no longer holds, answered as this one
    const m = await startMember("etcd-ts");
    cleanup.push(() => m.dispose());
    await setUp(m);
    const token = (await post(m, "/v3/auth/authenticate", { name: "alice", password: "apw" })).json.token as string;
    assert.match(token, /^[a-zA-Z]{16}\.[0-9]+$/, "etcd's simple token: 16 letters, '.', the raft index");
    assert.equal((await post(m, "/v3/kv/put", { key: b64("foo"), value: b64("1") }, token)).status, 200);
    const unknown = `${token.startsWith("a") ? "b" : "a"}${token.slice(1)}`;
    const refused = await post(m, "/v3/kv/put", { key: b64("foo"), value: b64("2") }, unknown);
    assert.deepEqual(refused, { status: 401, json: { error: "etcdserver: invalid auth token", message: "etcdserver: invalid auth token", code: 16 } });
  });
});
