/**
 * Flag values etcd-ts does not serve stop it at start-up with a message that says why, instead of being accepted
 * and ignored; and, as etcd, a file limit too low to run with is refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";

function run(cmd: string[], dataDir: string) {
  const [bin, ...args] = cmd;
  return spawnSync(bin!, [...args, `--data-dir=${dataDir}`, "--listen-client-urls=http://127.0.0.1:0", "--advertise-client-urls=http://127.0.0.1:0", "--listen-peer-urls=http://127.0.0.1:0"], {
    encoding: "utf8",
    timeout: 20_000,
  });
}
const etcdTs = (...flags: string[]) => [process.execPath, join(packageRoot(), "bin", "etcd-ts.js"), ...flags];

test("values with no effect in etcd-ts are refused with the reason, and nothing is started", () => {
  const dir = mkdtempSync(join(tmpdir(), "refused-"));
  try {
    const cases: Array<[string[], RegExp]> = [
      [["--enable-v2=true"], /--enable-v2=true: etcd-ts serves the v3 API only/],
      [["--logger=capnslog"], /--logger=capnslog: etcd-ts logs only in zap's JSON format/],
      [["--log-outputs=journal"], /does not write to journald/],
      [["--listen-metrics-urls=https://127.0.0.1:2381"], /cannot listen on TLS for 127.0.0.1:2381: KeyFile and CertFile are not presented/],
      [["--grpc-keepalive-min-time=5"], /invalid value "5" for flag -grpc-keepalive-min-time: parse error/],
    ];
    for (const [flags, re] of cases) {
      const r = run(etcdTs(...flags), join(dir, "d"));
      assert.notEqual(r.status, 0, flags.join(" "));
      assert.match(r.stderr, re, flags.join(" "));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a file limit at or below etcd's reserve (150) is refused, by etcd and etcd-ts alike", () => {
  const dir = mkdtempSync(join(tmpdir(), "refused-"));
  try {
    const prlimit = ["prlimit", "--nofile=140:140", "--"];
    for (const cmd of [[...prlimit, "etcd", "--logger=zap"], [...prlimit, ...etcdTs()]]) {
      const r = run(cmd, join(dir, cmd.includes("etcd") ? "etcd" : "ts"));
      assert.notEqual(r.status, 0, cmd.join(" "));
      assert.match(r.stderr, /file descriptor limit of etcd process is too low; please set higher/, `${cmd.join(" ")}\n${r.stderr.slice(-2000)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
