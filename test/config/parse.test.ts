import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../server/config/parse.js";
import { ConfigError } from "../../server/config/errors.js";
import { parseEnvFile, toEnvFile, toFlags } from "../../server/config/render.js";

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

test("TLS flags are refused with a message that says they are not supported yet", () => {
  assert.throws(() => parseConfig(["--cert-file=/x.pem"]), /--cert-file: TLS is not supported by etcd-ts yet/);
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
