import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../server/config/parse.js";
import { ConfigError } from "../../server/config/errors.js";
import { parseEnvFile, toEnv, toEnvFile, toFlags } from "../../server/config/render.js";

test("etcd's defaults: name default, data dir default.etcd, localhost:2379/2380", () => {
  const { config } = parseConfig([]);
  assert.equal(config.name, "default");
  assert.equal(config.dataDir, "default.etcd");
  assert.deepEqual(config.listenClientUrls, ["http://localhost:2379"]);
  assert.deepEqual(config.initialCluster, [{ name: "default", peerUrls: ["http://localhost:2380"] }]);
  assert.equal(config.heartbeatIntervalMs, 100);
  assert.equal(config.electionTimeoutMs, 1000);
  assert.equal(config.maxTxnOps, 128);
  assert.equal(config.maxRequestBytes, 1572864);
});

test("a flag wins over its ETCD_ variable; unknown ETCD_ variables warn, ETCD_UNSUPPORTED_ARCH is tolerated", () => {
  const r = parseConfig(["--name=a", "--initial-cluster=a=http://localhost:2380"], {
    ETCD_NAME: "b",
    ETCD_SNAPSHOT_COUNT: "42",
    ETCD_FOOBAR: "1",
    ETCD_UNSUPPORTED_ARCH: "arm",
  });
  assert.equal(r.config.name, "a");
  assert.equal(r.config.snapshotCount, 42);
  assert.equal(r.config.dataDir, "a.etcd");
  assert.ok(r.warnings.some((w) => w === "unrecognized environment variable ETCD_FOOBAR=1"));
  assert.ok(!r.warnings.some((w) => w.includes("UNSUPPORTED_ARCH")));
});

test("unknown flags and malformed URLs are refused with etcd's wording", () => {
  assert.throws(() => parseConfig(["--foo"]), (e: unknown) => e instanceof ConfigError && e.message === "flag provided but not defined: -foo");
  assert.throws(
    () => parseConfig(["--listen-client-urls=foo:bar"]),
    (e: unknown) => e instanceof ConfigError && e.message.startsWith('invalid value "foo:bar" for flag -listen-client-urls: URL scheme must be http'),
  );
  assert.throws(() => parseConfig(["--heartbeat-interval=abc"]), /invalid value "abc" for flag -heartbeat-interval: parse error/);
});

test("TLS flags and ETCD_* variables reach both sides' settings; --cipher-suites is a comma list", () => {
  const { config } = parseConfig(
    [
      "--cert-file=/c.pem",
      "--key-file=/k.pem",
      "--client-cert-auth",
      "--trusted-ca-file=/ca.pem",
      "--client-crl-file=/c.crl",
      "--client-cert-allowed-hostname=client.example",
      "--peer-auto-tls",
      "--peer-cert-allowed-cn=etcd-peer",
      "--experimental-peer-skip-client-san-verification",
      "--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "--listen-client-urls=https://127.0.0.1:2379",
      "--advertise-client-urls=https://127.0.0.1:2379",
    ],
    { ETCD_PEER_CRL_FILE: "/p.crl", ETCD_PEER_CLIENT_CERT_AUTH: "true" },
  );
  assert.deepEqual(config.clientSecurity, {
    certFile: "/c.pem",
    keyFile: "/k.pem",
    trustedCaFile: "/ca.pem",
    clientCertAuth: true,
    autoTls: false,
    crlFile: "/c.crl",
    allowedCn: "",
    allowedHostname: "client.example",
    skipClientSanVerify: false,
  });
  assert.equal(config.peerSecurity.autoTls, true);
  assert.equal(config.peerSecurity.allowedCn, "etcd-peer");
  assert.equal(config.peerSecurity.crlFile, "/p.crl");
  assert.equal(config.peerSecurity.clientCertAuth, true);
  assert.equal(config.peerSecurity.skipClientSanVerify, true);
  assert.deepEqual(config.cipherSuites, ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]);
  assert.deepEqual(config.listenClientUrls, ["https://127.0.0.1:2379"]);
  // rendered and parsed back: the same settings
  assert.deepEqual(parseConfig([], toEnv(config)).config, config);
});

test("election timeout must be at least five heartbeats, as etcd checks", () => {
  assert.throws(() => parseConfig(["--heartbeat-interval=300", "--election-timeout=1000"]), /should be at least as 5 times as --heartbeat-interval/);
});

test("a config rendered as an env file parses back to the same config", () => {
  const { config } = parseConfig([
    "--name=infra1",
    "--data-dir=/var/lib/etcd/infra1",
    "--listen-client-urls=http://10.0.1.11:2379",
    "--advertise-client-urls=http://10.0.1.11:2379",
    "--listen-peer-urls=http://10.0.1.11:2380",
    "--initial-advertise-peer-urls=http://10.0.1.11:2380",
    "--initial-cluster=infra0=http://10.0.1.10:2380,infra1=http://10.0.1.11:2380,infra2=http://10.0.1.12:2380",
    "--initial-cluster-token=etcd-cluster-1",
  ]);
  const back = parseConfig([], parseEnvFile(toEnvFile(config)));
  assert.deepEqual(back.config, config);
  assert.deepEqual(parseConfig(toFlags(config)).config, config);
});
