/** The pieces of server/tls one by one: cipher names, certificate checks, auto-TLS, etcd's post-handshake rules, reload, identity. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerHttp2Session } from "node:http2";
import { cipherChoice } from "../../server/tls/cipher-suites.js";
import { chainsTo, keyPairOf, parseCertificates, readCrlSerials } from "../../server/tls/cert-files.js";
import { issueCertificate, issueCrl, type CertificateSpec } from "../../server/tls/x509-issue.js";
import { selfCert, selfCertHosts } from "../../server/tls/self-cert.js";
import { allowedNameError, CERT_AUTH_FAILED, crlError, sanError } from "../../server/tls/verify-policy.js";
import { checkSideFiles } from "../../server/tls/side-check.js";
import { NO_TRANSPORT_SECURITY } from "../../server/config/member-config.js";
import { ReloadingContext } from "../../server/tls/reloading-context.js";
import { identityOfSession, registerSession } from "../../server/tls/identity.js";
import { captureLogs } from "./tls-fixture.js";

const DAY = 24 * 3600_000;
const now = new Date();
const spec = (o: Partial<CertificateSpec>): CertificateSpec => ({
  notBefore: new Date(now.getTime() - DAY),
  notAfter: new Date(now.getTime() + 30 * DAY),
  isCa: false,
  serverAuth: true,
  clientAuth: true,
  hosts: ["127.0.0.1", "localhost"],
  curve: "P-256",
  ...o,
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "tls-unit-"));
}

describe("--cipher-suites", () => {
  test("Go's names map to OpenSSL's; TLS 1.3 stays on; an unknown name is refused with etcd's message", () => {
    const c = cipherChoice(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"])!;
    assert.equal(c.minVersion, "TLSv1.2");
    assert.match(c.ciphers, /^TLS_AES_256_GCM_SHA384:.*:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305$/);
    assert.equal(cipherChoice([]), undefined);
    assert.deepEqual(cipherChoice(["TLS_AES_128_GCM_SHA256"])!.minVersion, "TLSv1.3");
    assert.throws(() => cipherChoice(["FOO"]), /^Error: unexpected TLS cipher suite "FOO"$/);
    // known to Go, not offered by this OpenSSL: refused rather than dropped
    assert.throws(() => cipherChoice(["TLS_RSA_WITH_RC4_128_SHA"]), /"TLS_RSA_WITH_RC4_128_SHA" \(OpenSSL RC4-SHA\) is not available/);
  });
});

describe("certificate files", () => {
  test("tls.X509KeyPair's reasons: switched inputs, no PEM, a key of another certificate", async () => {
    const a = await issueCertificate(spec({ commonName: "a" }));
    const b = await issueCertificate(spec({ commonName: "b" }));
    assert.throws(() => keyPairOf(Buffer.from(a.keyPem), Buffer.from(a.keyPem)), /PEM inputs may have been switched/);
    assert.throws(() => keyPairOf(Buffer.from("junk"), Buffer.from(a.keyPem)), /failed to find any PEM data in certificate input/);
    assert.throws(() => keyPairOf(Buffer.from(a.certPem), Buffer.from(a.certPem)), /found a certificate rather than a key/);
    assert.throws(() => keyPairOf(Buffer.from(a.certPem), Buffer.from(b.keyPem)), /^Error: tls: private key does not match public key$/);
    assert.equal(keyPairOf(Buffer.from(a.certPem), Buffer.from(a.keyPem)).chain.length, 1);
  });

  test("a chain through an intermediate in the certificate file leads to the root; another CA's does not", async () => {
    const root = await issueCertificate(spec({ commonName: "root", isCa: true, hosts: [] }));
    const mid = await issueCertificate(spec({ commonName: "mid", isCa: true, hosts: [] }), root);
    const leaf = await issueCertificate(spec({ commonName: "leaf" }), mid);
    const other = await issueCertificate(spec({ commonName: "other", isCa: true, hosts: [] }));
    const chain = parseCertificates(Buffer.from(leaf.certPem + mid.certPem), "certificate");
    assert.equal(chainsTo(chain, [new X509Certificate(root.certPem)]), true);
    assert.equal(chainsTo(chain.slice(0, 1), [new X509Certificate(root.certPem)]), false);
    assert.equal(chainsTo(chain, [new X509Certificate(other.certPem)]), false);
  });

  test("a CRL lists the serials it revokes", async () => {
    const ca = await issueCertificate(spec({ commonName: "ca", isCa: true, hosts: [] }));
    const leaf = await issueCertificate(spec({ commonName: "x" }), ca);
    const crl = await issueCrl(ca, [leaf.serial]);
    assert.match(crl, /^-----BEGIN X509 CRL-----/);
    assert.deepEqual([...(await readCrlSerials(Buffer.from(crl)))], [leaf.serial]);
    await assert.rejects(readCrlSerials(Buffer.from("not a crl")), /x509: malformed crl/);
  });
});

describe("auto-TLS (etcd's SelfCert)", () => {
  test("P-521, O=etcd, 365 days, serverAuth, one SAN per listen host, key 0600; an existing pair is reused", async () => {
    const dir = tmp();
    try {
      const fixtures = join(dir, "fixtures", "peer");
      const hosts = selfCertHosts(["https://127.0.0.1:2380", "https://node-1.example:2380", "https://[::1]:2380"]);
      const first = await selfCert(fixtures, hosts);
      assert.equal(first.created, true);
      assert.equal(first.certFile, join(fixtures, "cert.pem"));
      const cert = new X509Certificate(readFileSync(first.certFile));
      assert.equal(cert.subject, "O=etcd");
      assert.equal(cert.issuer, "O=etcd");
      assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "secp521r1");
      const days = (new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()) / DAY;
      assert.ok(days > 364.9 && days < 365.1, `validity ${days} days`);
      assert.equal(cert.subjectAltName, "IP Address:127.0.0.1, DNS:node-1.example, IP Address:0:0:0:0:0:0:0:1");
      assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
      assert.equal(statSync(first.keyFile).mode & 0o777, 0o600);
      assert.equal(statSync(fixtures).mode & 0o777, 0o700);
      assert.match(readFileSync(first.keyFile, "utf8"), /^-----BEGIN EC PRIVATE KEY-----/);
      const again = await selfCert(fixtures, hosts);
      assert.equal(again.created, false);
      assert.equal(readFileSync(again.certFile, "utf8"), cert.toString());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("etcd's checks after the handshake", () => {
  test("allowed CN and allowed hostname", async () => {
    const leaf = new X509Certificate((await issueCertificate(spec({ commonName: "etcd-peer", hosts: ["10.0.0.5", "peer.example"] }))).certPem);
    const p = { requestCert: true, allowedCn: "", allowedHostname: "", checkSan: false, crlFile: "" };
    assert.equal(allowedNameError(leaf, { ...p, allowedCn: "etcd-peer" }), undefined);
    assert.equal(allowedNameError(leaf, { ...p, allowedCn: "other" }), CERT_AUTH_FAILED);
    assert.equal(allowedNameError(leaf, { ...p, allowedHostname: "peer.example" }), undefined);
    assert.equal(allowedNameError(leaf, { ...p, allowedHostname: "10.0.0.5" }), undefined);
    assert.equal(allowedNameError(leaf, { ...p, allowedHostname: "etcd-peer" }), CERT_AUTH_FAILED, "the CN is not a host name (Go: SANs only)");
  });

  test("SANs against the remote address, with Go's wording", async () => {
    const ipOnly = new X509Certificate((await issueCertificate(spec({ hosts: ["10.0.0.5"] }))).certPem);
    assert.equal(await sanError(ipOnly, "10.0.0.5"), undefined);
    assert.equal(await sanError(ipOnly, "127.0.0.1"), "x509: certificate is valid for 10.0.0.5, not 127.0.0.1");
    const none = new X509Certificate((await issueCertificate(spec({ hosts: [] }))).certPem);
    assert.equal(await sanError(none, "127.0.0.1"), undefined, "no SANs: nothing to check (etcd)");
    const local = new X509Certificate((await issueCertificate(spec({ hosts: ["localhost"] }))).certPem);
    assert.equal(await sanError(local, "127.0.0.1"), undefined, "a DNS SAN resolving to the address");
    const far = new X509Certificate((await issueCertificate(spec({ hosts: ["nowhere.invalid"] }))).certPem);
    assert.match((await sanError(far, "127.0.0.1"))!, /^tls: "127.0.0.1" does not match any of DNSNames \["nowhere.invalid"\]/);
  });

  test("CRL: a revoked serial is refused with etcd's text; an unreadable CRL refuses too", async () => {
    const dir = tmp();
    try {
      const ca = await issueCertificate(spec({ commonName: "ca", isCa: true, hosts: [] }));
      const bad = await issueCertificate(spec({ commonName: "bad" }), ca);
      const good = await issueCertificate(spec({ commonName: "good" }), ca);
      const crl = join(dir, "ca.crl");
      writeFileSync(crl, await issueCrl(ca, [bad.serial]));
      const presented = (pem: string) => ({ serialNumber: new X509Certificate(pem).serialNumber }) as never;
      assert.equal(await crlError(crl, presented(bad.certPem)), `transport: certificate serial ${bad.serial} revoked`);
      assert.equal(await crlError(crl, presented(good.certPem)), undefined);
      assert.match((await crlError(join(dir, "missing.crl"), presented(good.certPem)))!, /^open .*missing.crl: no such file or directory$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("start-up checks of a side's files", () => {
  test("each bad input names the flag, the file and the reason", async () => {
    const dir = tmp();
    try {
      const ca = await issueCertificate(spec({ commonName: "ca", isCa: true, hosts: [] }));
      const otherCa = await issueCertificate(spec({ commonName: "other", isCa: true, hosts: [] }));
      const good = await issueCertificate(spec({ commonName: "m1" }), ca);
      const expired = await issueCertificate(spec({ commonName: "m1", notBefore: new Date(now.getTime() - 10 * DAY), notAfter: new Date(now.getTime() - DAY) }), ca);
      const w = (name: string, text: string) => {
        writeFileSync(join(dir, name), text);
        return join(dir, name);
      };
      const [cert, key, caFile, otherCaFile] = [w("c.crt", good.certPem), w("c.key", good.keyPem), w("ca.crt", ca.certPem), w("o.crt", otherCa.certPem)];
      const [oldCert, oldKey, wrongKey] = [w("old.crt", expired.certPem), w("old.key", expired.keyPem), w("w.key", otherCa.keyPem)];
      const s = (o: Partial<typeof NO_TRANSPORT_SECURITY>) => ({ ...NO_TRANSPORT_SECURITY, certFile: cert, keyFile: key, trustedCaFile: caFile, ...o });
      const check = (side: "client" | "peer", o: Partial<typeof NO_TRANSPORT_SECURITY>) => checkSideFiles(side, s(o), false, now);
      await assert.doesNotReject(check("client", {}));
      await assert.rejects(check("client", { certFile: join(dir, "nope.crt") }), new RegExp(`^ConfigError: --cert-file=${dir}/nope.crt, --key-file=${key}: open ${dir}/nope.crt: no such file or directory$`));
      await assert.rejects(check("peer", { keyFile: wrongKey }), /^ConfigError: --peer-cert-file=.*c.crt, --peer-key-file=.*w.key: tls: private key does not match public key$/);
      await assert.rejects(check("client", { certFile: oldCert, keyFile: oldKey }), /^ConfigError: --cert-file=.*old.crt: x509: certificate has expired or is not yet valid: current time \S+ is after \S+$/);
      await assert.rejects(check("client", { trustedCaFile: otherCaFile }), /^ConfigError: --cert-file=.*c.crt: x509: certificate signed by unknown authority \(not signed by a certificate in --trusted-ca-file=.*o.crt\)$/);
      await assert.rejects(check("client", { trustedCaFile: join(dir, "none.crt") }), /^ConfigError: --trusted-ca-file=.*none.crt: open .*none.crt: no such file or directory$/);
      await assert.rejects(check("peer", { crlFile: w("bad.crl", "junk") }), /^ConfigError: --peer-crl-file=.*bad.crl: x509: malformed crl/);
      await assert.rejects(check("client", { keyFile: "" }), /^ConfigError: KeyFile and CertFile must both be present\[key: , cert: .*c.crt\]$/);
      await assert.rejects(check("peer", { allowedCn: "a", allowedHostname: "b" }), /^ConfigError: AllowedCN and AllowedHostname are mutually exclusive \(cn="a", hostname="b"\)$/);
      // an auto-TLS certificate is self-signed by design: the trusted CA then only checks the other side
      await assert.doesNotReject(checkSideFiles("client", s({ trustedCaFile: otherCaFile }), true, now));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("reload on handshake", () => {
  test("the same files give the same context; changed files a new one; unreadable files fail with etcd's warning", async () => {
    const dir = tmp();
    try {
      const a = await issueCertificate(spec({ commonName: "a" }));
      const b = await issueCertificate(spec({ commonName: "b" }));
      const cert = join(dir, "c.crt");
      const key = join(dir, "c.key");
      writeFileSync(cert, a.certPem);
      writeFileSync(key, a.keyPem);
      const logs = captureLogs();
      const r = new ReloadingContext({ certFile: cert, keyFile: key, trustedCaFile: "" }, undefined, "peer", logs.logger);
      const first = await r.current();
      assert.equal((await r.current()).context, first.context);
      writeFileSync(cert, b.certPem);
      writeFileSync(key, b.keyPem);
      const second = await r.current();
      assert.notEqual(second.context, first.context);
      assert.equal(second.certPem.toString(), b.certPem);
      writeFileSync(key, a.keyPem); // half-way through a rotation
      await assert.rejects(r.current(), /private key does not match public key/);
      assert.ok(logs.lines.some((l) => l.msg === "failed to create peer certificate" && l["cert-file"] === cert));
      rmSync(cert);
      await assert.rejects(r.current(), /no such file or directory/);
      assert.ok(logs.lines.some((l) => l.msg === "failed to find peer cert files"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("caller identity by connection", () => {
  test("a gRPC call finds its connection's identity by its HTTP/2 session; a session registered without one has none", () => {
    const a = {} as ServerHttp2Session;
    const b = {} as ServerHttp2Session;
    registerSession(a, { commonName: "alice", fingerprint256: "x" });
    registerSession(b, undefined);
    assert.equal(identityOfSession(a)?.commonName, "alice");
    assert.equal(identityOfSession(b), undefined);
    assert.equal(identityOfSession({} as ServerHttp2Session), undefined);
  });
});
