/**
 * Authentication by client certificate, etcd 3.4.23 beside etcd-ts with one PKI: under --client-cert-auth
 * and auth enabled, a request with no token is made as the user named by its certificate's CN
 * (etcd's AuthInfoFromTLS), a token (--user) wins over the certificate, and a CN that names no user
 * with the right permission is refused with etcd's error.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { etcdctl } from "../support/etcdctl.js";
import type { Flavor } from "../support/launcher.js";
import { TlsCluster } from "../support/tls-cluster.js";

const FLAVORS: readonly Flavor[] = ["etcd", "etcd-ts"];
let dir: string;
const clusters = new Map<Flavor, TlsCluster>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tls-cn-auth-"));
  const pki = join(dir, "pki");
  for (const flavor of FLAVORS) clusters.set(flavor, await TlsCluster.start({ flavor, size: 1, dir: join(dir, flavor), pki }));
});
after(async () => {
  for (const c of clusters.values()) await c.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one etcdctl step as the certificate of `certUser`, with extra args; the outcome as text. */
async function step(flavor: Flavor, certUser: string, args: string[]): Promise<string> {
  const c = clusters.get(flavor)!;
  const r = await etcdctl(c.endpoints, [...c.ctlFlags(certUser), ...args]);
  // clientv3's retry warnings carry a timestamp and a client ID: keep only the error they report
  const stderr = r.stderr.replace(/\{"level":"warn".*?"error":("[^"]*")\}/g, "(retry: $1)");
  return `${r.code} ${r.stdout.trim()} ${stderr.trim()}`.trim();
}

const SCRIPT: readonly { cert: string; args: string[] }[] = [
  { cert: "root", args: ["user", "add", "root", "--new-user-password=rootpw"] },
  { cert: "root", args: ["user", "add", "alice", "--new-user-password=alicepw"] },
  { cert: "root", args: ["role", "add", "app"] },
  { cert: "root", args: ["role", "grant-permission", "app", "readwrite", "app/", "--prefix=true"] },
  { cert: "root", args: ["user", "grant-role", "alice", "app"] },
  { cert: "root", args: ["auth", "enable"] },
  // no token: the certificate's CN is the user
  { cert: "root", args: ["put", "top", "1"] },
  { cert: "alice", args: ["put", "app/a", "1"] },
  { cert: "alice", args: ["get", "app/a", "--print-value-only"] },
  { cert: "alice", args: ["put", "top", "2"] },
  { cert: "alice", args: ["get", "top"] },
  { cert: "alice", args: ["user", "list"] },
  // a token wins over the certificate
  { cert: "alice", args: ["--user=root:rootpw", "put", "top", "3"] },
  { cert: "root", args: ["--user=alice:alicepw", "put", "top", "4"] },
  { cert: "root", args: ["get", "top", "--print-value-only"] },
  { cert: "root", args: ["auth", "disable"] },
];

test("--client-cert-auth with auth on: the certificate's CN is the user unless a token is given, as etcd 3.4", async (t) => {
  const got = new Map<Flavor, string[]>();
  for (const flavor of FLAVORS) {
    const out: string[] = [];
    for (const s of SCRIPT) out.push(`${s.cert}: ${s.args.join(" ")} -> ${await step(flavor, s.cert, s.args)}`);
    got.set(flavor, out);
  }
  t.diagnostic(got.get("etcd-ts")!.join("\n"));
  assert.deepEqual(got.get("etcd-ts"), got.get("etcd"));
  // the script means something: alice's certificate was refused outside her prefix, root's accepted
  assert.match(got.get("etcd")![9]!, /permission denied/);
  assert.match(got.get("etcd")![6]!, /^root: put top 1 -> 0 OK/);
});
