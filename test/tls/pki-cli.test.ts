/**
 * `etcdkit pki`: what it writes verifies with openssl against the CA, has the SANs and usages the members and
 * clients need, private modes, and a re-run keeps what still fits (the CA only changes with --new-ca).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";

function etcdkit(args: string[]) {
  return spawnSync(process.execPath, [join(packageRoot(), "bin", "etcdkit.js"), "pki", ...args], { encoding: "utf8", timeout: 60_000 });
}

function openssl(args: string[]) {
  return spawnSync("openssl", args, { encoding: "utf8" });
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(dir, e.name), ...walk(join(dir, e.name))] : [join(dir, e.name)]));
}

test("etcdkit pki --size 3: every certificate verifies against the CA with openssl; SANs, usages and modes as documented", () => {
  const dir = mkdtempSync(join(tmpdir(), "pki-cli-"));
  try {
    const out = join(dir, "pki");
    const r = etcdkit(["--size", "3", "--target", "docker", "--client", "alice", "--dir", out]);
    assert.equal(r.status, 0, r.stderr);
    const certs = walk(out).filter((f) => f.endsWith(".crt") && !f.endsWith("ca.crt"));
    assert.equal(certs.length, 3 * 2 + 2);
    const verify = openssl(["verify", "-CAfile", join(out, "ca.crt"), ...certs]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.equal(verify.stdout.trim().split("\n").filter((l) => l.endsWith(": OK")).length, certs.length);

    const text = (f: string) => openssl(["x509", "-in", f, "-noout", "-subject", "-ext", "subjectAltName,extendedKeyUsage,basicConstraints"]).stdout;
    const peer = text(join(out, "members", "etcd-2", "peer.crt"));
    assert.match(peer, /subject=CN = etcd-2/);
    // name, docker address, container name, and the loopback names
    assert.match(peer, /DNS:etcd-2, IP Address:172\.28\.3\.3, DNS:etcd-3-etcd-2, IP Address:127\.0\.0\.1, DNS:localhost/);
    assert.match(peer, /TLS Web Server Authentication, TLS Web Client Authentication/);
    const client = text(join(out, "clients", "alice.crt"));
    assert.match(client, /subject=CN = alice/);
    assert.doesNotMatch(client, /Subject Alternative Name/);
    assert.match(client, /Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
    assert.match(text(join(out, "ca.crt")), /CA:TRUE/);
    for (const f of walk(out)) {
      const mode = statSync(f).mode & 0o777;
      if (statSync(f).isDirectory()) assert.equal(mode, 0o700, f);
      else if (f.endsWith(".key")) assert.equal(mode, 0o600, f);
    }

    // a re-run keeps everything; --renew reissues leaves under the same CA; --new-ca replaces the CA
    const ca = readFileSync(join(out, "ca.crt"), "utf8");
    const leaf = readFileSync(join(out, "members", "etcd-1", "server.crt"), "utf8");
    const again = etcdkit(["--size", "3", "--client", "alice", "--dir", out]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout.split("\n").filter((l) => l.startsWith("kept")).length, 1 + 6 + 2);
    assert.equal(readFileSync(join(out, "members", "etcd-1", "server.crt"), "utf8"), leaf);
    // a member asked for with one more address gets a new certificate; the others are kept
    const more = etcdkit(["--member", "etcd-1=127.0.0.1,10.1.2.3", "--dir", out]);
    assert.equal(more.status, 0, more.stderr);
    assert.match(more.stdout, /renewed\s+member etcd-1 server/);
    assert.match(openssl(["x509", "-in", join(out, "members", "etcd-1", "server.crt"), "-noout", "-ext", "subjectAltName"]).stdout, /IP Address:10\.1\.2\.3/);
    const renew = etcdkit(["--size", "3", "--dir", out, "--renew"]);
    assert.match(renew.stdout, /kept\s+CA/);
    assert.equal(readFileSync(join(out, "ca.crt"), "utf8"), ca);
    const fresh = etcdkit(["--size", "3", "--dir", out, "--new-ca"]);
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.notEqual(readFileSync(join(out, "ca.crt"), "utf8"), ca);
    const verifyAfter = openssl(["verify", "-CAfile", join(out, "ca.crt"), ...walk(out).filter((f) => f.endsWith(".crt") && !f.endsWith("ca.crt") && !f.includes("alice"))]);
    assert.equal(verifyAfter.status, 0, verifyAfter.stdout + verifyAfter.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("etcdkit pki: --help, bad input refused with a reason", () => {
  const help = etcdkit(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Output layout/);
  assert.equal(etcdkit([]).status, 2);
  const bad = etcdkit(["--member", "../evil=1.2.3.4", "--dir", join(tmpdir(), "never-made")]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /member name "..\/evil" is not usable as a file name/);
  assert.match(etcdkit(["--size", "4"]).stderr, /cluster size must be 1, 3, 5 or 7/);
});
