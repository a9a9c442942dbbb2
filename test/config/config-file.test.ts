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

test("a config file with an unknown key or TLS settings is refused with a clear message", () => {
  const dir = mkdtempSync(join(tmpdir(), "cfg-"));
  try {
    const bad = join(dir, "bad.yml");
    writeFileSync(bad, "name: a\nno-such-key: 1\n");
    assert.throws(() => parseConfig([`--config-file=${bad}`]), /unknown key "no-such-key"/);
    const tls = join(dir, "tls.yml");
    writeFileSync(tls, "name: a\nclient-transport-security:\n  cert-file: /etc/ssl/x.pem\n");
    assert.throws(() => parseConfig([`--config-file=${tls}`]), /TLS is not supported/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
