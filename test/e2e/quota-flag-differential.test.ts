/**
 * --quota-backend-bytes read as etcd 3.4.23 reads it (etcdserver/quota.go): the start-up lines for the
 * default (0), a quota above the suggested 8 GiB maximum (a warning), and a negative value (quota
 * disabled), compared with etcd's own log lines, and the etcd_server_quota_backend_bytes gauge each
 * serves on /metrics; and a disabled quota lets a write past any size.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startMember, type Flavor } from "../support/launcher.js";
import { etcdctl } from "../support/etcdctl.js";

const QUOTA_MSGS = new Set(["disabled backend quota", "enabled backend quota with default value", "enabled backend quota", "quota exceeds the maximum value"]);

async function quotaLines(flavor: Flavor, value: string): Promise<unknown[]> {
  const m = await startMember(flavor, { flags: ["--logger=zap", `--quota-backend-bytes=${value}`] });
  try {
    const metrics = await (await fetch(`${m.clientUrl}/metrics`)).text();
    const gauge = metrics.split("\n").filter((l) => l.startsWith("etcd_server_quota_backend_bytes "));
    return [...gauge.map((l) => ({ metric: l.split(" ").slice(1).map(Number) })), ...m
      .log()
      .split("\n")
      .flatMap((l) => {
        try {
          const { level, msg, ...fields } = JSON.parse(l) as Record<string, unknown>;
          if (!QUOTA_MSGS.has(String(msg))) return [];
          delete fields.ts;
          delete fields.caller;
          return [{ level, msg, ...fields }];
        } catch {
          return [];
        }
      })];
  } finally {
    await m.dispose();
  }
}

for (const value of ["0", "10737418240", "-1", "1048576"]) {
  test(`--quota-backend-bytes=${value}: etcd-ts logs etcd's quota lines`, { timeout: 60_000 }, async () => {
    const etcd = await quotaLines("etcd", value);
    const ts = await quotaLines("etcd-ts", value);
    assert.ok(etcd.length > 0, "etcd logged its quota");
    assert.deepEqual(ts, etcd);
  });
}

test("a negative quota disables it: a put bigger than any small quota is accepted", { timeout: 60_000 }, async () => {
  const m = await startMember("etcd-ts", { flags: ["--quota-backend-bytes=-5"] });
  try {
    const r = await etcdctl(m.endpoint, ["put", "k", "x".repeat(100_000)]);
    assert.equal(r.code, 0, r.stderr);
    const alarms = await etcdctl(m.endpoint, ["alarm", "list"]);
    assert.equal(alarms.stdout.trim(), "");
  } finally {
    await m.dispose();
  }
});
