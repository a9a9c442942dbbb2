/**
 * Differential: the JSON gateway under --client-cert-auth, etcd 3.4.23 beside etcd-ts with one PKI.
 * etcd 3.4's gateway is a gRPC client of its own member (it dials it with the member's own
 * certificate), so the caller's client certificate could never name the user of a gateway request.
 * etcd says so instead of serving the request without that user: while auth is enabled, its access
 * controller (embed/serve.go) answers any `/v3/` request over TLS whose verified client certificate
 * has a common name with HTTP 400, text/plain, "CommonName of client sending a request against gateway
 * will be ignored and not used as expected" — tokens included, `/v3beta/` too, but not /health.
 * Before auth is enabled and after it is disabled the gateway serves the same clients. The members
 * run with a --host-whitelist that names none of the test's hosts: etcd applies it to plaintext
 * connections only.
 * Regression: etcd-ts served them (as a caller without a user, or with the token's user), and
 * applied the host whitelist over TLS too (421 where etcd serves).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { caPaths, clientPaths } from "../../pki/layout.js";
import { tokenFor } from "../../ansible-free-scripts/auth/auth-client.js";
import { parseEndpoints } from "../../ansible-free-scripts/backup/snapshot-client.js";
import { etcdctl } from "../support/etcdctl.js";
import type { Flavor } from "../support/launcher.js";
import { httpsGet, httpsPost, TlsCluster } from "../support/tls-cluster.js";

const FLAVORS: readonly Flavor[] = ["etcd", "etcd-ts"];
const b64 = (s: string) => Buffer.from(s).toString("base64");
const ACCEPT = { accept: "application/json" };
let dir: string;
let pki: string;
const clusters = new Map<Flavor, TlsCluster>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tls-gw-cn-"));
  pki = join(dir, "pki");
  // --host-whitelist names no host the test uses: etcd checks it on plaintext connections only
  const extraFlags = () => ["--host-whitelist=good.example"];
  for (const flavor of FLAVORS) clusters.set(flavor, await TlsCluster.start({ flavor, size: 1, dir: join(dir, flavor), pki, extraFlags }));
});
after(async () => {
  for (const c of clusters.values()) await c.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function ctl(flavor: Flavor, args: string[]): Promise<void> {
  const c = clusters.get(flavor)!;
  const r = await etcdctl(c.endpoints, [...c.ctlFlags("root"), ...args]);
  assert.equal(r.code, 0, `${flavor} ${args.join(" ")}: ${r.stderr}`);
}

/** A gateway answer without what differs between two servers on their own (a JSON answer's header, a token). */
async function call(flavor: Flavor, cert: string, path: string, req: object, headers: Record<string, string> = ACCEPT): Promise<unknown> {
  const c = clusters.get(flavor)!;
  const r = await httpsPost(`${c.endpoints[0]}${path}`, pki, cert, JSON.stringify(req), headers);
  if (!r.contentType?.startsWith("application/json")) return r;
  const body = JSON.parse(r.body) as Record<string, unknown>;
  delete body.header;
  if (typeof body.token === "string") body.token = "T";
  return { status: r.status, contentType: r.contentType, body };
}

/** The same requests, as alice's and root's certificates, with and without Accept, with a token. */
async function rows(flavor: Flavor, token: string | undefined): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const cert of ["alice", "root"]) {
    out[`${cert} cert, range app/a`] = await call(flavor, cert, "/v3/kv/range", { key: b64("app/a") });
    out[`${cert} cert, range app/a, no Accept`] = await call(flavor, cert, "/v3/kv/range", { key: b64("app/a") }, {});
    out[`${cert} cert, /v3beta/ range app/a`] = await call(flavor, cert, "/v3beta/kv/range", { key: b64("app/a") });
    out[`${cert} cert, put app/b`] = await call(flavor, cert, "/v3/kv/put", { key: b64("app/b"), value: b64("x") });
    out[`${cert} cert, authenticate alice`] = await call(flavor, cert, "/v3/auth/authenticate", { name: "alice", password: "alicepw" });
    if (token) out[`${cert} cert + alice's token, range app/a`] = await call(flavor, cert, "/v3/kv/range", { key: b64("app/a") }, { ...ACCEPT, authorization: token });
  }
  const c = clusters.get(flavor)!;
  out["alice cert, GET /health"] = (await httpsGet(`${c.endpoints[0]}/health`, pki, "alice")).status;
  return out;
}

test("gateway under --client-cert-auth: a certificate with a CN is refused while auth is on, as etcd 3.4", async () => {
  const got = new Map<Flavor, Record<string, unknown>>();
  for (const flavor of FLAVORS) {
    await ctl(flavor, ["user", "add", "root", "--new-user-password=rootpw"]);
    await ctl(flavor, ["user", "add", "alice", "--new-user-password=alicepw"]);
    await ctl(flavor, ["role", "add", "app"]);
    await ctl(flavor, ["role", "grant-permission", "app", "readwrite", "app/", "--prefix=true"]);
    await ctl(flavor, ["user", "grant-role", "alice", "app"]);
    await ctl(flavor, ["put", "app/a", "1"]);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(await rows(flavor, undefined))) out[`auth off: ${k}`] = v;
    await ctl(flavor, ["auth", "enable"]);
    const alice = await tokenOverGrpc(flavor, "alice", "alicepw");
    for (const [k, v] of Object.entries(await rows(flavor, alice))) out[`auth on: ${k}`] = v;
    await ctl(flavor, ["--user=root:rootpw", "auth", "disable"]);
    for (const [k, v] of Object.entries(await rows(flavor, undefined))) out[`auth off again: ${k}`] = v;
    got.set(flavor, out);
  }
  assert.deepEqual(got.get("etcd-ts"), got.get("etcd"));
  // the comparison means something: etcd refused root's certificate and served it with auth off
  const refusal = {
    status: 400,
    contentType: "text/plain; charset=utf-8",
    body: "CommonName of client sending a request against gateway will be ignored and not used as expected\n",
  };
  const etcd = got.get("etcd")!;
  assert.deepEqual(etcd["auth on: root cert, range app/a"], refusal);
  assert.deepEqual(etcd["auth on: alice cert + alice's token, range app/a"], refusal);
  assert.equal((etcd["auth off: root cert, range app/a"] as { status: number }).status, 200);
  assert.equal((etcd["auth off again: alice cert, put app/b"] as { status: number }).status, 200);
});

/**
 * A token on `flavor`, for the gateway rows (over gRPC: the gateway refuses the PKI's
 * certificates while auth is on, and every client certificate of the PKI has a CN).
 */
/** A token over gRPC, the connection made with `name`'s client certificate (the kit's own auth client). */
function tokenOverGrpc(flavor: Flavor, name: string, password: string): Promise<string> {
  const cert = clientPaths(pki, name);
  const tls = { cacert: caPaths(pki).cert, cert: cert.cert, key: cert.key };
  return tokenFor(parseEndpoints([clusters.get(flavor)!.endpoints[0]!], tls)[0]!, tls, { user: name, password }, 15_000);
}
