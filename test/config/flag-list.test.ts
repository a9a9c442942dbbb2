/**
 * Every flag `etcd --help` of Debian's etcd 3.4.23 lists is in etcd-ts's flag table (so none goes
 * missing again), and every flag etcd-ts accepts is one etcd has.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { FLAGS, envNameOf } from "../../server/config/flag-table.js";


function etcdHelpFlags(): string[] {
  const text = execFileSync("sh", ["-c", "etcd --help 2>&1"], { encoding: "utf8" });
  return [...text.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]!);
}

test("every flag of etcd 3.4's --help is accepted, and etcd-ts has no flag etcd lacks", () => {
  const listed = etcdHelpFlags();
  assert.ok(listed.length >= 80, `etcd --help listed only ${listed.length} flags`);
  const ours = new Set(FLAGS.map((f) => f.name));
  const missing = listed.filter((f) => !ours.has(f));
  assert.deepEqual(missing, [], "flags etcd has and etcd-ts does not");
  // etcd lists --config-file, --help and --version in its usage header, not among the flags
  const extra = [...ours].filter((f) => !listed.includes(f) && !["config-file", "help", "version"].includes(f));
  assert.deepEqual(extra, [], "flags etcd-ts has and etcd does not");
});

test("every flag has its ETCD_ variable and its --config-file key, both named as etcd names them", () => {
  for (const f of FLAGS) assert.match(envNameOf(f.name), /^ETCD_[A-Z0-9_]+$/);
  assert.equal(envNameOf("experimental-watch-progress-notify-interval"), "ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL");
});
