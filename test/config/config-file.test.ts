import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../server/config/parse.js";

test("--config-file reads etcd's YAML keys and, as etcd, ignores other flags and the environment", () => {
  const dir = mkdtempSync(join(tmpdir(), "cfg-"));
  try {
    const file = join(dir, "etcd.conf.yml");
    writeFileSync(
      file,
      [
        "name: infra0",
        "data-dir: /var/lib/etcd/infra0",
        "listen-client-urls: http://10.0.1.10:2379",
        "advertise-client-urls: http://10.0.1.10:2379",
        "listen-peer-urls: http://10.0.1.10:2380",
        "initial-advertise-peer-urls: http://10.0.1.10:2380",
        "initial-cluster: infra0=http://10.0.1.10:2380,infra1=http://10.0.1.11:2380",
        "initial-cluster-token: etcd-cluster-1",
        "snapshot-count: 10000",
        "heartbeat-interval: 100",
        "election-timeout: 1000",
        "client-transport-security:",
        "  cert-file: ''",
        "",
      ].join("\n"),
    );
    const r = parseConfig([`--config-file=${file}`, "--name=ignored"], { ETCD_SNAPSHOT_COUNT: "5" });
    assert.equal(r.config.name, "infra0");
    assert.equal(r.config.snapshotCount, 10000);
    assert.deepEqual(r.config.initialCluster.map((m) => m.name), ["infra0", "infra1"]);
    assert.ok(r.warnings.some((w) => w.includes("ignored")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a config file with an unknown key is refused with a clear message", () => {
  const dir = mkdtempSync(join(tmpdir(), "cfg-"));
  try {
    const bad = join(dir, "bad.yml");
    writeFileSync(bad, "name: a\nno-such-key: 1\n");
    assert.throws(() => parseConfig([`--config-file=${bad}`]), /unknown key "no-such-key"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the config file takes etcd 3.4's TLS keys: the transport-security sections, cipher-suites, and the TLSInfo fields etcd reads", () => {
  const dir = mkdtempSync(join(tmpdir(), "cfg-"));
  const load = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return () => parseConfig([`--config-file=${f}`]);
  };
  try {
    const { config } = load(
      "tls.yml",
      [
        "name: a",
        "listen-client-urls: https://127.0.0.1:2379",
        "advertise-client-urls: https://127.0.0.1:2379",
        "cipher-suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]",
        "client-transport-security:",
        "  cert-file: /c.pem",
        "  key-file: /k.pem",
        "  client-cert-auth: true",
        "  trusted-ca-file: /ca.pem",
        "peer-transport-security:",
        "  auto-tls: true",
        "ClientTLSInfo:",
        "  CRLFile: /c.crl",
        "PeerTLSInfo:",
        "  allowedcn: etcd-peer",
        "  SkipClientSANVerify: true",
        "",
      ].join("\n"),
    )();
    assert.equal(config.clientSecurity.certFile, "/c.pem");
    assert.equal(config.clientSecurity.clientCertAuth, true);
    assert.equal(config.clientSecurity.trustedCaFile, "/ca.pem");
    assert.equal(config.clientSecurity.crlFile, "/c.crl");
    assert.equal(config.peerSecurity.autoTls, true);
    assert.equal(config.peerSecurity.allowedCn, "etcd-peer");
    assert.equal(config.peerSecurity.skipClientSanVerify, true);
    assert.deepEqual(config.cipherSuites, ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]);
    // what etcd would silently ignore is refused, saying where it goes
    assert.throws(load("flat.yml", "cert-file: /c.pem\n"), /"cert-file" is not a key of etcd's config file .*use client-transport-security.cert-file/);
    assert.throws(load("crl.yml", "client-crl-file: /c.crl\n"), /use ClientTLSInfo.CRLFile/);
    assert.throws(load("sub.yml", "client-transport-security:\n  crl-file: /x\n"), /unknown key "client-transport-security.crl-file"/);
    assert.throws(load("over.yml", "PeerTLSInfo:\n  CertFile: /x\n"), /PeerTLSInfo.CertFile is overwritten by peer-transport-security/);
    // Go's types: a string where a bool or a list is expected
    assert.throws(load("type.yml", "client-transport-security:\n  client-cert-auth: 'yes'\n"), /cannot unmarshal string into Go struct field securityConfig.client-cert-auth of type bool/);
    assert.throws(load("list.yml", "cipher-suites: TLS_AES_128_GCM_SHA256\n"), /cannot unmarshal string into Go struct field configYAML.cipher-suites of type \[\]string/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
