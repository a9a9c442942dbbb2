/**
 * Auth on a 3-member etcd-ts cluster with JWT tokens (--auth-token jwt, one ES256 key pair for every
 * member): auth enabled through etcd-1 is enforced on every member; a JWT issued by one member is
 * accepted by the others and refused by all of them once the auth store moves; enforcement (and a
 * change made while a member is down) survives a leader kill -9 and a full restart; a member added
 * later, after more than the kept log (--snapshot-count 50, 5000 entries kept) so that it can only
 * join from a snapshot of the leader's database, enforces it too.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientConstructor } from "../../server/pb/grpc-services.js";
import { freePort } from "../support/ports.js";
import { downCluster, memberOf, readLog, startExtraMember, tailLog, upCluster, type ExtraMember, type LocalCluster } from "../support/launcher.js";
import { ctlError, etcdctl, hostPort, isHealthy, waitConverged, waitLeader, waitUntil } from "../support/cluster-client.js";

const ROOT = ["--user", "root:rootpw"];
const ALICE = ["--user", "alice:apw"];
const SNAPSHOT_COUNT = 50;
/** More raft entries than etcd-ts keeps behind a snapshot (5000) plus one snapshot interval. */
const FILLER_WRITES = 5000 + 2 * SNAPSHOT_COUNT + 100;
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** POST to a member's JSON gateway, the token (if any) in the Authorization header as etcd's gateway takes it. */
async function gw(clientUrl: string, path: string, body: object, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${clientUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: token } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function tokenOf(clientUrl: string, name: string, password: string): Promise<string> {
  const r = await gw(clientUrl, "/v3/auth/authenticate", { name, password });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.token as string;
}

/** A KV gRPC client that sends `token` in the metadata, as clientv3 does. */
function tokenKv(endpoint: string, token: string) {
  const Ctor = clientConstructor("etcdserverpb", "KV");
  const client = new Ctor(endpoint, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set("token", token);
  return {
    put: (key: string, value: string) =>
      new Promise<void>((resolve, reject) =>
        (client.Put as (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void).call(
          client,
          { key: Buffer.from(key), value: Buffer.from(value) },
          md,
          { deadline: Date.now() + 10_000 },
          (e) => (e ? reject(e) : resolve()),
        ),
      ),
    close: () => client.close(),
  };
}

describe("auth on a 3-member etcd-ts cluster with JWT tokens", { timeout: 420_000 }, () => {
  const label = "auth";
  let cluster: LocalCluster;
  let newbie: ExtraMember | undefined;
  let keyDir = "";
  let authTokenFlag = "";
  const ep = (name: string) => (name === "newbie" ? hostPort(newbie!.clientUrl) : hostPort(memberOf(cluster, name).clientUrl));
  const url = (name: string) => (name === "newbie" ? newbie!.clientUrl : memberOf(cluster, name).clientUrl);
  const NAMES = ["etcd-1", "etcd-2", "etcd-3"];

  before(async () => {
    keyDir = mkdtempSync(join(tmpdir(), "auth-cluster-jwt-"));
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeFileSync(join(keyDir, "priv.pem"), privateKey.export({ type: "sec1", format: "pem" }));
    writeFileSync(join(keyDir, "pub.pem"), publicKey.export({ type: "spki", format: "pem" }));
    authTokenFlag = `jwt,pub-key=${join(keyDir, "pub.pem")},priv-key=${join(keyDir, "priv.pem")},sign-method=ES256`;
    cluster = await upCluster(label, { members: 3, server: "etcd-ts", snapshotCount: SNAPSHOT_COUNT, extraEnv: { ETCD_AUTH_TOKEN: authTokenFlag } });
  });
  after(async () => {
    await newbie?.stop("SIGKILL");
    await downCluster(cluster, label, newbie ? [newbie.logFile] : []);
    rmSync(keyDir, { recursive: true, force: true });
  });

  const ctl = async (name: string, args: readonly string[]) => {
    const r = await etcdctl(ep(name), args);
    return { code: r.code, out: r.stdout.trim(), err: ctlError(r) };
  };

  /** The checks that say "auth is on, with alice's permissions (readwrite foo, plus `extra`)" on one member. */
  async function enforces(name: string, extra: readonly string[] = []): Promise<void> {
    assert.deepEqual(await ctl(name, ["put", "foo", "anon"]), { code: 1, out: "", err: "Error: etcdserver: user name is empty" }, `no user on ${name}`);
    assert.deepEqual(await ctl(name, [...ALICE, "put", "foo", name]), { code: 0, out: "OK", err: "" }, `alice writes foo on ${name}`);
    assert.deepEqual(await ctl(name, [...ALICE, "get", "foo"]), { code: 0, out: `foo\n${name}`, err: "" }, `alice reads foo on ${name}`);
    assert.deepEqual(await ctl(name, [...ALICE, "put", "zzz", "1"]), { code: 1, out: "", err: "Error: etcdserver: permission denied" }, `alice may not write zzz on ${name}`);
    assert.deepEqual(await ctl(name, ["--user", "alice:wrong", "get", "foo"]), { code: 2, out: "", err: "Error: etcdserver: authentication failed, invalid user ID or password" }, `wrong password on ${name}`);
    for (const k of extra) assert.deepEqual(await ctl(name, [...ALICE, "put", k, name]), { code: 0, out: "OK", err: "" }, `alice writes ${k} on ${name}`);
  }

  test("auth enabled through etcd-1 is enforced on every member", async () => {
    for (const a of [["user", "add", "root:rootpw"], ["user", "add", "alice:apw"], ["role", "add", "r1"], ["role", "grant-permission", "r1", "readwrite", "foo"], ["user", "grant-role", "alice", "r1"], ["auth", "enable"]]) {
      const r = await ctl("etcd-1", a);
      assert.equal(r.code, 0, `${a.join(" ")}: ${r.err}`);
    }
    // every member has applied what etcd-1 acknowledged before it is asked
    await waitConverged(NAMES.map(ep), 20_000);
    for (const n of NAMES) await enforces(n);
  });

  test("a JWT issued by etcd-1 is accepted by etcd-2 and etcd-3, and refused by all once the auth store moves", async () => {
    const token = await tokenOf(url("etcd-1"), "alice", "apw");
    for (const n of ["etcd-2", "etcd-3"]) {
      assert.equal((await gw(url(n), "/v3/kv/put", { key: b64("foo"), value: b64(`jwt-${n}`) }, token)).status, 200, `gateway put on ${n}`);
      const got = await gw(url(n), "/v3/kv/range", { key: b64("foo") }, token);
      assert.equal((got.json.kvs as { value: string }[])[0]!.value, b64(`jwt-${n}`), `range on ${n}`);
      assert.equal((await gw(url(n), "/v3/kv/put", { key: b64("zzz"), value: b64("1") }, token)).json.message, "etcdserver: permission denied");
    }
    const kv = tokenKv(ep("etcd-3"), token);
    try {
      await kv.put("foo", "grpc-etcd-3");
    } finally {
      kv.close();
    }
    // root (authenticated on etcd-2) adds a role through etcd-2: alice's token is old everywhere
    const root = await tokenOf(url("etcd-2"), "root", "rootpw");
    assert.equal((await gw(url("etcd-2"), "/v3/auth/role/add", { name: "r2" }, root)).status, 200);
    await waitConverged(NAMES.map(ep), 20_000);
    for (const n of NAMES) {
      assert.equal((await gw(url(n), "/v3/kv/range", { key: b64("foo") }, token)).json.message, "etcdserver: revision of auth store is old", `old token on ${n}`);
    }
    const fresh = await tokenOf(url("etcd-3"), "alice", "apw");
    assert.equal((await gw(url("etcd-1"), "/v3/kv/range", { key: b64("foo") }, fresh)).status, 200, "a fresh token from etcd-3 on etcd-1");
  });

  test("a leader kill -9: the survivors enforce auth, a change made meanwhile reaches the restarted member", async () => {
    const leader = await waitLeader(cluster, 10_000);
    await cluster.kill(leader, "SIGKILL");
    const rest = NAMES.filter((n) => n !== leader);
    await waitLeader(cluster, 20_000, [leader]);
    // alice may now also write bar: granted through a survivor while the old leader is down
    const g = await waitUntil(async () => {
      const r = await ctl(rest[0]!, [...ROOT, "role", "grant-permission", "r1", "readwrite", "bar"]);
      return r.code === 0 ? r : undefined;
    }, 20_000, "grant-permission through a survivor");
    assert.match(g.out, /updated/);
    await waitConverged(rest.map(ep), 20_000);
    for (const n of rest) await enforces(n, ["bar"]);
    await cluster.start(leader);
    await cluster.waitHealthy([leader], 30_000);
    await waitConverged(NAMES.map(ep), 30_000);
    await enforces(leader, ["bar"]);
  });

  test("a full restart of every member: auth is still on and enforced everywhere", async () => {
    for (const n of NAMES) await cluster.stop(n);
    for (const n of NAMES) await cluster.start(n);
    await cluster.waitHealthy(NAMES, 30_000);
    await waitConverged(NAMES.map(ep), 30_000);
    for (const n of NAMES) await enforces(n, ["bar"]);
    assert.deepEqual(await ctl("etcd-2", [...ROOT, "role", "get", "r1"]), { code: 0, out: "Role r1\nKV Read:\n\tbar\n\tfoo\nKV Write:\n\tbar\n\tfoo", err: "" });
  });

  test(`a member added after ${FILLER_WRITES} more entries joins from a snapshot and enforces auth too`, async () => {
    const leader = await waitLeader(cluster, 10_000);
    const root = await tokenOf(url(leader), "root", "rootpw");
    // Push the auth entries out of every log: after this the new member can only get them in a snapshot.
    const kv = tokenKv(ep(leader), root);
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < FILLER_WRITES) {
            const i = next++;
            await kv.put(`filler/${i}`, "x");
          }
        }),
      );
    } finally {
      kv.close();
    }
    const peerUrl = `http://127.0.0.1:${await freePort()}`;
    const clientUrl = `http://127.0.0.1:${await freePort()}`;
    const add = await ctl(leader, [...ROOT, "member", "add", "newbie", `--peer-urls=${peerUrl}`]);
    assert.equal(add.code, 0, add.err);
    const initialCluster = /^ETCD_INITIAL_CLUSTER="(.*)"$/m.exec(add.out)?.[1];
    assert.ok(initialCluster, add.out);
    newbie = startExtraMember("etcd-ts", {
      name: "newbie",
      clientUrl,
      peerUrl,
      dataDir: join(cluster.dir, "newbie-data"),
      logFile: join(cluster.dir, "newbie.log"),
      initialCluster,
      state: "existing",
      extraFlags: [`--auth-token=${authTokenFlag}`, `--snapshot-count=${SNAPSHOT_COUNT}`],
    });
    await waitUntil(async () => {
      if (!newbie!.running()) throw new Error(`newbie exited:\n${tailLog(newbie!.logFile)}`);
      return isHealthy(clientUrl);
    }, 60_000, "newbie /health");
    await waitConverged([...NAMES, "newbie"].map(ep), 60_000);
    assert.match(readLog(newbie.logFile), /applied snapshot from leader/, "newbie joined from a snapshot");
    await enforces("newbie", ["bar"]);
    const token = await tokenOf(url("etcd-1"), "alice", "apw");
    assert.equal((await gw(clientUrl, "/v3/kv/put", { key: b64("bar"), value: b64("from-etcd-1-token") }, token)).status, 200, "etcd-1's JWT on newbie");
    assert.deepEqual(await ctl("newbie", [...ROOT, "user", "list"]), { code: 0, out: "alice\nroot", err: "" });
  });
});
