import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(packageRoot(), "bin", "etcd-ts.js"), ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 20000 });

test("--version prints etcd-ts's version and the etcd API version, and exits 0", () => {
  const r = run(["--version"]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /etcd-ts Version: \d+\.\d+\.\d+/);
  assert.match(r.stdout, /etcd API Version: 3\.4/);
});

test("--help lists etcd's flags with their ETCD_ variables", () => {
  const r = run(["--help"]);
  assert.equal(r.status, 0);
  for (const f of ["--name", "--data-dir", "--initial-cluster", "--snapshot-count", "--max-txn-ops", "ETCD_LISTEN_CLIENT_URLS"]) assert.ok(r.stdout.includes(f), f);
});

test("an unknown flag or a malformed URL stops the server with etcd's message and a non-zero exit", () => {
  const a = run(["--no-such-flag"]);
  assert.notEqual(a.status, 0);
  assert.match(a.stderr, /^flag provided but not defined: -no-such-flag/);
  const b = run(["--listen-client-urls=127.0.0.1:2379"]);
  assert.notEqual(b.status, 0);
  assert.match(b.stderr, /invalid value "127\.0\.0\.1:2379" for flag -listen-client-urls/);
  const c = run([], { ETCD_HEARTBEAT_INTERVAL: "fast" });
  assert.notEqual(c.status, 0);
  assert.match(c.stderr, /invalid value "fast" for flag -heartbeat-interval/);
});
