/** The small pure parts: flags, workload names, stack outputs, /metrics histograms, splitting load, chart ticks. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseFlags, UsageError } from "../../bench/args.js";
import { FLAGS, resolveOptions } from "../../bench/cli.js";
import { prefixEnd } from "../../bench/etcd-client.js";
import { split } from "../../bench/load.js";
import { niceTicks } from "../../bench/report-html.js";
import { histogramDelta, parsePromHistogram } from "../../bench/sampler.js";
import { figure, latencySummary, newHistogram, recordMs } from "../../bench/stats.js";
import { endpointsFromStackOutputs } from "../../bench/target.js";
import { expandWorkloads } from "../../bench/workloads.js";

test("flags: --name value, --name=value, booleans, lists; unknown flags refused", () => {
  const { flags, positional } = parseFlags(["--conns", "4", "--clients=32", "--sequential-keys", "--topologies", "1,3", "--quick=false", "x"], FLAGS);
  assert.deepEqual(flags, { conns: ["4"], clients: ["32"], "sequential-keys": true, topologies: ["1", "3"], quick: false });
  assert.deepEqual(positional, ["x"]);
  assert.throws(() => parseFlags(["--nope"], FLAGS), UsageError);
  assert.throws(() => parseFlags(["--total"], FLAGS), /--total needs a value/);
  assert.throws(() => parseFlags(["--rw-ratio", "abc"], FLAGS), /--rw-ratio takes a number/);
});

test("options: the default run, --quick, --full, validation", () => {
  const d = resolveOptions({});
  assert.deepEqual(d.topologies, [1, 3]);
  assert.equal(d.server, "etcd-ts");
  assert.equal(d.baseline, "etcd");
  assert.deepEqual([d.total, d.durationSec, d.warmup, d.trials, d.failoverTrials, d.valSize, d.workers], [null, 5, 500, 2, 1, 256, 1]);
  assert.deepEqual(d.shapes, [{ conns: 1, clients: 1 }, { conns: 10, clients: 100 }]);
  assert.deepEqual([d.conns, d.clients, d.connections, d.profile], [1, 1, "all-members", "default"]);
  assert.deepEqual(d.workloads, ["memory", "put", "range-l", "failover-kill-leader"]);
  const f = resolveOptions({ full: true });
  assert.deepEqual([f.topologies, f.trials, f.failoverTrials, f.profile], [[1, 3, 5, 7], 3, 3, "full"]);
  assert.deepEqual(f.workloads, ["memory", "put", "range-l", "range-s", "range-keys-only", "range-count-only", "txn-mixed", "http-put", "http-range", "failover-kill-leader", "failover-stop-leader", "failover-kill-follower", "failover-pause-leader"]);
  const q = resolveOptions({ quick: true });
  assert.deepEqual([q.topologies, q.durationSec, q.trials, q.failoverTrials, q.warmup, q.quick], [[1, 3], 2, 1, 1, 100, true]);
  assert.throws(() => resolveOptions({ quick: true, full: true }), /exclude each other/);
  const t = resolveOptions({ total: 2000, clients: ["16"], conns: ["2"], "target-leader": true });
  assert.deepEqual([t.total, t.durationSec, t.warmup, t.shapes, t.connections], [2000, null, 100, [{ conns: 2, clients: 16 }], "leader"]);
  assert.equal(resolveOptions({ baseline: "none" }).baseline, null);
  assert.deepEqual(resolveOptions({ workloads: ["range"], consistency: "s" }).workloads, ["range-s", "range-keys-only", "range-count-only"]);
  const dur = resolveOptions({ duration: 2.5 });
  assert.equal(dur.total, null);
  assert.equal(dur.durationSec, 2.5);
  assert.throws(() => resolveOptions({ clients: 0 }), /--clients must be an integer >= 1/);
  assert.throws(() => resolveOptions({ "key-space-size": 0 }), /--key-space-size/);
  assert.throws(() => resolveOptions({ endpoints: ["a"], "stack-outputs": "f" }), /exclude each other/);
  assert.throws(() => expandWorkloads(["put", "nope"], null), /unknown workload "nope"/);
  assert.deepEqual(expandWorkloads(["failover", "failover-kill-leader", "watch", "lease"], null), [
    "failover-kill-leader",
    "failover-stop-leader",
    "failover-kill-follower",
    "failover-pause-leader",
    "watch-latency",
    "lease-churn",
    "lease-keepalive",
    "lease-expiry",
  ]);
});

test("stack outputs: client URLs from a CDKTF outputs file", () => {
  const dir = mkdtempSync(join(tmpdir(), "etcdkit-stack-"));
  try {
    const f = join(dir, "out.json");
    writeFileSync(f, JSON.stringify({ "etcd-3": { client_urls: ["http://10.0.0.1:2379", "10.0.0.2:2379"], other: 1 }, more: { endpoints: "http://10.0.0.3:2379, http://10.0.0.1:2379" } }));
    assert.deepEqual(endpointsFromStackOutputs(f), ["http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"]);
    writeFileSync(f, JSON.stringify({ s: { members: [{ name: "a", clientUrl: "http://h:1" }] } }));
    assert.deepEqual(endpointsFromStackOutputs(f), ["http://h:1"]);
    writeFileSync(f, JSON.stringify({ s: { nothing: 1 } }));
    assert.throws(() => endpointsFromStackOutputs(f), /no client endpoints found/);
    assert.throws(() => endpointsFromStackOutputs(join(dir, "missing.json")), /cannot read stack outputs/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("/metrics histograms: parsed, differenced, quantiles interpolated in buckets", () => {
  const text = (c: number[], sum: number) =>
    ["# HELP x", ...[0.001, 0.002, 0.004].map((le, i) => `etcd_disk_wal_fsync_duration_seconds_bucket{le="${le}"} ${c[i]}`), `etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} ${c[3]}`, `etcd_disk_wal_fsync_duration_seconds_sum ${sum}`, `etcd_disk_wal_fsync_duration_seconds_count ${c[3]}`].join("\n");
  const before = parsePromHistogram(text([10, 10, 10, 10], 0.005), "etcd_disk_wal_fsync_duration_seconds")!;
  const after = parsePromHistogram(text([10, 60, 110, 110], 0.305), "etcd_disk_wal_fsync_duration_seconds")!;
  assert.equal(after.buckets.length, 4);
  const d = histogramDelta(before, after)!;
  assert.equal(d.count, 100);
  assert.equal(d.sumSeconds, 0.3);
  assert.equal(d.meanMs, 3);
  assert.equal(d.p50Ms, 2); // 50 of 100 in (1 ms, 2 ms]: the rank 50 is at the top of that bucket
  assert.equal(d.p99Ms, 3.96);
  assert.equal(parsePromHistogram("nothing", "etcd_disk_wal_fsync_duration_seconds"), null);
  assert.equal(histogramDelta(null, after), null);
});

test("splitting load over processes, prefix ends, figures, histograms, chart ticks", () => {
  assert.deepEqual(split(10, 3), [4, 3, 3]);
  assert.deepEqual(split(2, 2), [1, 1]);
  assert.deepEqual(prefixEnd(Buffer.from("ab")), Buffer.from("ac"));
  assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from("b"));
  const f = figure([10, 30, 20], "ms", "lower");
  assert.deepEqual([f.median, f.min, f.max, f.spread, f.n], [20, 10, 30, 1, 3]);
  const h = newHistogram();
  for (let i = 1; i <= 1000; i++) recordMs(h, i / 10);
  const l = latencySummary(h);
  assert.equal(l.count, 1000);
  assert.ok(Math.abs(l.p50Ms - 50) < 0.1 && Math.abs(l.p99Ms - 99) < 0.1 && l.maxMs >= l.p999Ms);
  assert.deepEqual(niceTicks(0, 1212), [0, 250, 500, 750, 1000, 1250]);
  assert.deepEqual(niceTicks(0, 3), [0, 1, 2, 3]);
});

test("compare: put of a one-shape run meets put@16 of a several-shape run when both had 16 clients", async () => {
  const { compareResults } = await import("../../bench/compare.js");
  const f = (median: number) => ({ unit: "req/s", better: "higher" as const, n: 1, median, min: median, max: median, spread: 0, values: [median] });
  const w = (name: string, clients: number, thr: number) => ({ name, family: "kv" as const, status: "ok" as const, params: { clients, conns: 2 }, trials: [{} as never], summary: { throughput: f(thr) } });
  const file = (ws: ReturnType<typeof w>[]) => ({ runs: [{ id: "1-etcd-ts", workloads: ws }] }) as unknown as Parameters<typeof compareResults>[0];
  const c = compareResults(file([w("put", 16, 100)]), file([w("put@1", 1, 50), w("put@16", 16, 120)]));
  assert.deepEqual(c.rows.map((r) => [r.workload, r.b.median]), [["put", 120]]);
  assert.deepEqual(c.onlyInB, ["1-etcd-ts put@1"]);
  assert.equal(compareResults(file([w("put", 8, 100)]), file([w("put@16", 16, 120)])).rows.length, 0, "other client counts are not the same figure");
});
