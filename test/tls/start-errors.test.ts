/**
 * Bad TLS input stops etcd-ts at start with the flag, the file and the reason, a non-zero exit, nothing listening
 * and no member data written. Where etcd 3.4.23 has wording for the same input (a missing file, a key of another
 * certificate, an unknown cipher suite, an https URL without a certificate), etcd-ts's message contains etcd's.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { caPaths, clientPaths, serverPaths } from "../../pki/layout.js";
import { ensurePki } from "../../pki/pki.js";
import { issueCertificate } from "../../server/tls/x509-issue.js";
import { freePort, memberFlags, spawnMember } from "../support/launcher.js";

let dir: string;
let pki: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tls-start-"));
  pki = join(dir, "pki");
  await ensurePki({ dir: pki, members: [{ name: "m1", hosts: [] }] });
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  readonly code: number | null;
  readonly output: string;
  readonly listening: boolean;
  readonly dataDir: string;
}

/** Starts a member with `flags` (https client URL), waits for it to exit (or kills it after a while), probes its ports. */
async function run(flavor: "etcd" | "etcd-ts", flags: string[], name: string): Promise<Run> {
  const [cp, pp] = [await freePort(), await freePort()];
  const dataDir = join(dir, `${flavor}-${name}`);
  const clientUrl = `https://127.0.0.1:${cp}`;
  const flags2 = [...memberFlags({ name: "m1", dataDir, clientUrl, peerUrl: `http://127.0.0.1:${pp}` }), "--logger=zap", ...flags];
  const proc = spawnMember({ flavor, flags: flags2, logFile: join(dir, `${flavor}-${name}.log`) });
  const exited = proc.exited;
  const timer = setTimeout(() => void proc.kill("SIGKILL"), 15_000);
  // probe while it runs: a member that binds a port before failing is half-started
  let listening = false;
  const probe = setInterval(() => {
    for (const p of [cp, pp]) {
      const s = connect(p, "127.0.0.1", () => {
        listening = true;
        s.destroy();
      });
      s.on("error", () => undefined);
    }
  }, 20);
  const end = await exited;
  clearTimeout(timer);
  clearInterval(probe);
  return { code: typeof end === "number" ? end : null, output: proc.log(), listening, dataDir };
}

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const pair = (cert: string, key: string) => [`--cert-file=${cert}`, `--key-file=${key}`];

test("each bad certificate input: a clear error naming the file and the reason, exit non-zero, nothing listening, no member data", async () => {
  const s = serverPaths(pki, "m1");
  const root = clientPaths(pki, "root");
  const expired = await issueCertificate({ commonName: "m1", notBefore: new Date(Date.now() - 3 * 86400_000), notAfter: new Date(Date.now() - 86400_000), isCa: false, serverAuth: true, clientAuth: true, hosts: ["127.0.0.1"], curve: "P-256" });
  const strangerCa = await issueCertificate({ commonName: "stranger", notBefore: new Date(), notAfter: new Date(Date.now() + 86400_000), isCa: true, serverAuth: false, clientAuth: false, hosts: [], curve: "P-256" });
  const unreadable = write("unreadable.crt", "x");
  const cases: Array<{ name: string; flags: string[]; want: RegExp }> = [
    { name: "missing", flags: pair(join(dir, "nope.crt"), s.key), want: /--cert-file=\S*nope.crt, --key-file=\S*server.key: open \S*nope.crt: no such file or directory/ },
    { name: "directory", flags: pair(dir, s.key), want: /--cert-file=\S+, --key-file=\S+: read \S+: is a directory/ },
    { name: "not-pem", flags: pair(unreadable, s.key), want: /--cert-file=\S*unreadable.crt, --key-file=\S+: tls: failed to find any PEM data in certificate input/ },
    { name: "mismatch", flags: pair(s.cert, root.key), want: /--cert-file=\S*server.crt, --key-file=\S*root.key: tls: private key does not match public key/ },
    { name: "expired", flags: pair(write("expired.crt", expired.certPem), write("expired.key", expired.keyPem)), want: /--cert-file=\S*expired.crt: x509: certificate has expired or is not yet valid: current time .* is after / },
    {
      name: "foreign-ca",
      flags: [...pair(s.cert, s.key), `--trusted-ca-file=${write("stranger.crt", strangerCa.certPem)}`],
      want: /--cert-file=\S*server.crt: x509: certificate signed by unknown authority \(not signed by a certificate in --trusted-ca-file=\S*stranger.crt\)/,
    },
    { name: "missing-ca", flags: [...pair(s.cert, s.key), `--trusted-ca-file=${join(dir, "noca.crt")}`], want: /--trusted-ca-file=\S*noca.crt: open \S*noca.crt: no such file or directory/ },
  ];
  for (const c of cases) {
    const r = await run("etcd-ts", c.flags, c.name);
    assert.notEqual(r.code, 0, `${c.name}: exit code`);
    assert.match(r.output, c.want, `${c.name}:\n${r.output.slice(-1500)}`);
    assert.match(r.output, /"level":"fatal".*"msg":"invalid configuration"/, c.name);
    assert.equal(r.listening, false, `${c.name}: a port was bound before the failure`);
    assert.equal(existsSync(join(r.dataDir, "member")), false, `${c.name}: member data was written`);
  }
});

test("where etcd 3.4.23 has words for the input, etcd-ts's error carries them", async () => {
  const s = serverPaths(pki, "m1");
  const root = clientPaths(pki, "root");
  const cases: Array<{ name: string; flags: string[]; etcd: string }> = [
    { name: "missing", flags: pair(join(dir, "nope.crt"), s.key), etcd: `open ${join(dir, "nope.crt")}: no such file or directory` },
    { name: "mismatch", flags: pair(s.cert, root.key), etcd: "tls: private key does not match public key" },
    { name: "only-cert", flags: [`--cert-file=${s.cert}`], etcd: `KeyFile and CertFile must both be present[key: , cert: ${s.cert}]` },
    { name: "cipher", flags: [...pair(s.cert, s.key), "--cipher-suites=TLS_BOGUS"], etcd: 'unexpected TLS cipher suite \\"TLS_BOGUS\\"' },
    { name: "no-cert", flags: [], etcd: "TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:" },
    { name: "switched", flags: pair(s.key, s.cert), etcd: "tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched" },
  ];
  for (const c of cases) {
    const [etcd, ours] = [await run("etcd", c.flags, c.name), await run("etcd-ts", c.flags, c.name)];
    assert.notEqual(etcd.code, 0, `etcd ${c.name}`);
    assert.notEqual(ours.code, 0, `etcd-ts ${c.name}`);
    assert.ok(etcd.output.includes(c.etcd), `etcd's own wording changed for ${c.name}:\n${etcd.output.slice(-1500)}`);
    assert.ok(ours.output.includes(c.etcd), `etcd-ts lacks etcd's wording for ${c.name}:\n${ours.output.slice(-1500)}`);
    assert.equal(ours.listening, false, `etcd-ts ${c.name}: a port was bound`);
  }
});

test("caPaths is where the PKI put the CA (guards the layout these tests rely on)", () => {
  assert.ok(existsSync(caPaths(pki).cert));
});
