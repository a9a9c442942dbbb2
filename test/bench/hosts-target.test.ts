/**
 * `etcdkit bench --target hosts` without a cluster: its flags (sizes, the --delay list, conditions
 * for every set, refusals, the run profiles and load shapes applied on hosts too), the plan (each
 * size under each set of conditions, subject then baseline), the partition workloads' names and
 * their skip on targets that cannot cut links, and the reports: runs grouped by size and
 * conditions, the conditions printed above the tables, the partition table, the headline's rows per
 * size and conditions (stale reads flagged), and `compare` matching runs under the same conditions
 * only (old files still compare as before).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../bench/args.js";
import { resolveOptions } from "../../bench/cli.js";
import { compareResults } from "../../bench/compare.js";
import { renderHtml } from "../../bench/report-html.js";
import { headlineTable } from "../../bench/report-headline.js";
import { renderMarkdown } from "../../bench/report-md.js";
import { planRuns, runBench } from "../../bench/runner.js";
import type { BenchResultFile, FailoverTrial, RunConditions, TopologyRun } from "../../bench/schema.js";
import type { ClusterTarget } from "../../bench/target.js";
import { Progress } from "../../bench/progress.js";
import { expandWorkloads } from "../../bench/workloads.js";
import { packageRoot } from "../../server/util/package-root.js";

const FIXTURE = join(packageRoot(), "test", "bench", "fixtures", "result-v1.json");

test("flags: --target hosts with sizes, a --delay list and shared conditions; refusals name the flag", () => {
  const o = resolveOptions({ target: "hosts", hosts: ["3", "5"], delay: ["10ms", "20ms"], jitter: "2ms", bandwidth: "100mbit", link: "1-2:delay=50ms;2>3:loss=1%", "host-cpu": 0.5 });
  assert.equal(o.target, "hosts");
  assert.deepEqual(o.topologies, [3, 5]);
  assert.deepEqual(o.hosts, { delaysMs: [10, 20], jitterMs: 2, lossPct: 0, bandwidthKbit: 100_000, links: ["1-2:delay=50ms", "2>3:loss=1%"], coresPerHost: 0.5, shaper: true, partitionMs: 5000, flaps: 5 });
  assert.equal(o.hostsTarget!.conditions.length, 2);
  assert.equal(o.hostsTarget!.conditions[1]!.base.delayMs, 20);
  assert.equal(o.hostsTarget!.conditions[1]!.links["2>1"]!.delayMs, 50);
  assert.equal(o.hostsTarget!.conditions[0]!.links["2>3"]!.lossPct, 1);
  assert.equal(resolveOptions({ hosts: ["3"] }).target, "hosts", "--hosts alone picks the hosts target");
  assert.equal(resolveOptions({}).target, "local");
  assert.equal(resolveOptions({}).hosts, undefined);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ delay: ["20ms"] }, /--delay needs --target hosts/],
    [{ target: "local", hosts: ["3"] }, /--hosts needs --target hosts/],
    [{ target: "moon" }, /--target must be local or hosts/],
    [{ target: "hosts", topologies: ["3"] }, /from --hosts, not --topologies/],
    [{ target: "hosts", hosts: ["4"] }, /--hosts: 4 is not a supported cluster size/],
    [{ target: "hosts", delay: ["fast"] }, /--delay: "fast" is not a duration/],
    [{ target: "hosts", delay: ["5ms"], jitter: "10ms" }, /jitter 10ms is larger than the delay 5ms/],
    [{ target: "hosts", link: "1-9:delay=5ms" }, /host 9 is not one of 1..3/],
    [{ target: "hosts", "direct-links": true, delay: ["20ms"] }, /--direct-links leaves the peer links unshaped/],
    [{ target: "hosts", "host-cpu": 0 }, /--host-cpu must be > 0/],
    [{ target: "hosts", endpoints: ["http://x:1"] }, /excludes --endpoints/],
  ];
  for (const [flags, re] of bad) assert.throws(() => resolveOptions(flags as never), (e: Error) => e instanceof UsageError && re.test(e.message), JSON.stringify(flags));
});

test("flags: --target hosts under the run profiles and load shapes: sizes from --hosts, the rest from the profile", () => {
  const quick = resolveOptions({ target: "hosts", hosts: ["3"], delay: ["20ms"], quick: true });
  assert.equal(quick.profile, "quick");
  assert.deepEqual(quick.topologies, [3], "the profile's topologies give way to --hosts");
  assert.deepEqual(quick.workloads, ["put", "range-l", "failover-kill-leader"]);
  assert.equal(quick.durationSec, 2);
  assert.deepEqual(quick.shapes!.map((x) => `${x.conns}/${x.clients}`), ["1/1", "10/100"]);
  assert.deepEqual(quick.hosts!.delaysMs, [20]);
  const full = resolveOptions({ target: "hosts", hosts: ["5"], full: true, clients: ["16"], conns: ["2"], "target-leader": true, workloads: ["put", "partition"] });
  assert.equal(full.profile, "full");
  assert.deepEqual(full.topologies, [5]);
  assert.equal(full.trials, 3);
  assert.deepEqual(full.shapes, [{ conns: 2, clients: 16 }]);
  assert.equal(full.connections, "leader");
  assert.deepEqual(full.workloads, ["put", "partition-leader", "partition-oneway", "partition-flap"]);
  assert.equal(full.target, "hosts");
});

test("plan: every size under every set of conditions, the baseline right after its subject", () => {
  const o = resolveOptions({ target: "hosts", hosts: ["3", "5"], delay: ["0ms", "20ms"] });
  const { hostsTarget: _h, out: _o, stackOutputs: _s, ...record } = o;
  const plan = planRuns(record, []);
  assert.deepEqual(
    plan.map((p) => `${p.members}/${p.variant}/${p.server}`),
    ["3/0/etcd-ts", "3/0/etcd", "3/1/etcd-ts", "3/1/etcd", "5/0/etcd-ts", "5/0/etcd", "5/1/etcd-ts", "5/1/etcd"].filter((x) => record.baseline !== null || !x.endsWith("/etcd")),
  );
  assert.deepEqual(expandWorkloads(["partition"], null), ["partition-leader", "partition-oneway", "partition-flap"]);
});

test("partition workloads are skipped, saying why, on a target that cannot cut links", async () => {
  const fixed: ClusterTarget = {
    kind: "endpoints",
    server: "etcd-ts",
    size: 3,
    members: () => [],
    endpoints: () => [],
    control: null,
    down: async () => {},
  };
  const o = resolveOptions({ workloads: ["partition-leader"], endpoints: ["http://127.0.0.1:1"], baseline: "none" });
  const { hostsTarget: _h, out: _o, stackOutputs: _s, ...record } = o;
  // checkEndpoints on no endpoints passes; deleting the run's keys afterwards fails and is noted.
  const r = await runBench(record, { progress: new Progress(process.stderr, undefined, true), signal: new AbortController().signal, argv: [], fixedTarget: fixed, fsyncSamples: 1 });
  const w = r.runs[0]!.workloads[0]!;
  assert.equal(w.status, "skipped");
  assert.match(w.skipReason!, /needs a target whose links the suite can cut \(--target hosts\)/);
});

function conditions(tag: string, delayMs: number): RunConditions {
  const link = { delayMs, jitterMs: 0, lossPct: 0, bandwidthKbit: null };
  return {
    target: "hosts",
    tag,
    hosts: 3,
    addresses: ["10.213.7.11", "10.213.7.12", "10.213.7.13"],
    conditions: { base: link, links: {} },
    conditionsText: delayMs ? `delay ${delayMs}ms` : "no added delay",
    shaper: "userspace-proxy",
    clientPath: "unshaped",
    isolation: { kind: "cgroup1", coresPerHost: null, weight: 1024, detail: "cgroup v1 cpu controller (/sys/fs/cgroup/cpu): one group per host" },
    serviceManager: "supervisor",
    deploy: "ssh",
    linkCheck: {
      from: "host-1",
      to: "host-2",
      requestedRttMs: 2 * delayMs,
      samples: 50,
      throughputBytes: 8 << 20,
      direct: { rttP50Ms: 0.1, rttP90Ms: 0.2, rttP99Ms: 0.3, rttMaxMs: 0.4, mbit: 2000 },
      shaped: { rttP50Ms: 2 * delayMs + 1.2, rttP90Ms: 2 * delayMs + 2, rttP99Ms: 2 * delayMs + 5, rttMaxMs: 2 * delayMs + 6, mbit: 700 },
      overheadP50Ms: 1.1,
      throughputRatio: 2.9,
    },
  };
}

function hostsResult(): BenchResultFile {
  const base = JSON.parse(readFileSync(FIXTURE, "utf8")) as BenchResultFile;
  const template = base.runs.find((r) => r.members === 3 && r.role === "subject")!;
  const put = template.workloads.find((w) => w.name === "put")!;
  const trial: FailoverTrial = {
    ...(template.workloads.find((w) => w.family === "failover")!.trials[0] as FailoverTrial),
    scenario: "partition-leader",
    partition: { cuts: ["etcd-1>etcd-2"], heldMs: 5100, flaps: null, leaders: ["etcd-1", "etcd-2"], oldLeaderReads: { sent: 5, ok: 0, failed: 0, timedOut: 5, stale: 0 }, staleExamples: [] },
  };
  const runs: TopologyRun[] = [];
  for (const [tag, d] of [["0ms", 0], ["20ms", 20]] as const) {
    for (const role of ["subject", "baseline"] as const) {
      const server = role === "subject" ? "etcd-ts" : "etcd";
      runs.push({
        ...template,
        id: `3-${server}@hosts-${tag}`,
        server,
        role,
        conditions: conditions(tag, d),
        workloads: [put, { name: "partition-leader", family: "failover", status: "ok", params: {}, trials: [trial], summary: { lost: { unit: "writes", better: "lower", n: 1, median: 0, min: 0, max: 0, spread: 0, values: [0] }, staleReads: { unit: "reads", better: "lower", n: 1, median: 0, min: 0, max: 0, spread: 0, values: [0] } } }],
      });
    }
  }
  return { ...base, options: { ...base.options, target: "hosts", hosts: { delaysMs: [0, 20], jitterMs: 0, lossPct: 0, bandwidthKbit: null, links: [], coresPerHost: null, shaper: true, partitionMs: 5000, flaps: 5 } }, runs };
}

test("reports: a section per size and conditions, the conditions above the tables, the partition table", () => {
  const r = hostsResult();
  const md = renderMarkdown(r);
  assert.match(md, /## 3 hosts, 0ms\n/);
  assert.match(md, /## 3 hosts, 20ms\n/);
  assert.match(md, /- Peer links: delay 20ms \(userspace link shaper on every peer link\); client ↔ member traffic unshaped/);
  assert.match(md, /- CPU isolation: cgroup v1 cpu controller/);
  assert.match(md, /- Link check host-1→host-2 before deploy: RTT p50 41\.2 ms.*asked 40 ms.*shaper overhead p50 1\.1 ms/);
  assert.match(md, /service manager supervisor/);
  assert.match(md, /### Partitions .*\n\n\| scenario \| server \| new leader ms .* stale reads/);
  assert.match(md, /\| partition-leader \| etcd-ts \|.*\| 0 \/ 5 \| 0 \|/);
  assert.match(md, /namespace hosts: delays 0 ms, 20 ms/);
  // The headline: one size under two sets of conditions stays two rows, each saying which.
  assert.match(md, /## Headline\n\n\| members \| figure /);
  assert.match(md, /\n\| 3 \(0ms\) \| put.*\n/);
  assert.match(md, /\n\| 3 \(20ms\) \| put.*\n/);
  assert.match(md, /Hosts: namespace hosts: delays 0 ms, 20 ms; client traffic unshaped/);
  assert.doesNotMatch(md, /STALE reads/, "no stale-read row when there were none");
  const html = renderHtml(r);
  assert.match(html, /<h3>3 hosts, 20ms<\/h3>/);
  assert.match(html, /CPU isolation: cgroup v1/);
});

test("headline: stale reads on the old leader get a row of their own", () => {
  const r = hostsResult();
  const stale = { unit: "reads", better: "lower" as const, n: 1, median: 2, min: 2, max: 2, spread: 0, values: [2] };
  const run = r.runs.find((x) => x.id === "3-etcd-ts@hosts-20ms")!;
  r.runs[r.runs.indexOf(run)] = { ...run, workloads: run.workloads.map((w) => (w.name === "partition-leader" ? { ...w, summary: { ...w.summary, staleReads: stale } } : w)) };
  const t = headlineTable(r)!;
  const rows = t.rows.filter((x) => /STALE reads on the old leader/.test(x[1]!));
  assert.deepEqual(rows.map((x) => [x[0], x[1], x[2]]), [["3 (20ms)", "partition-leader: STALE reads on the old leader", "2"]]);
});

test("compare: runs match under the same conditions only; old result files compare as before", () => {
  const r = hostsResult();
  const self = compareResults(r, r);
  assert.ok(self.rows.some((x) => x.run === "3-etcd-ts@hosts-20ms"));
  assert.deepEqual([self.onlyInA, self.onlyInB], [[], []]);
  const old = JSON.parse(readFileSync(FIXTURE, "utf8")) as BenchResultFile;
  const c = compareResults(old, r);
  assert.equal(c.rows.length, 0, "a local run and a hosts run are not the same run");
  assert.ok(c.onlyInB.includes("3-etcd-ts@hosts-0ms put"));
  assert.ok(compareResults(old, old).rows.length > 0);
});

test("--tls on hosts: each size under each set of conditions both ways; --insecure plaintext; TLS by default", () => {
  const record = (flags: Record<string, unknown>) => {
    const { hostsTarget: _h, out: _o, stackOutputs: _s, clientTls: _t, ...r } = resolveOptions(flags as never);
    return r;
  };
  const both = record({ target: "hosts", hosts: ["3"], delay: ["0ms", "20ms"], baseline: "none", tls: true });
  assert.deepEqual(both.transports, ["tls", "plaintext"]);
  assert.deepEqual(
    planRuns(both, []).map((p) => `${p.members}/${p.variant}/${p.tls ? "tls" : "plain"}`),
    ["3/0/tls", "3/0/plain", "3/1/tls", "3/1/plain"],
  );
  assert.deepEqual(record({ target: "hosts", hosts: ["3"] }).transports, ["tls"]);
  assert.deepEqual(record({ target: "hosts", hosts: ["3"], insecure: true }).transports, ["plaintext"]);
  assert.throws(() => resolveOptions({ target: "hosts", hosts: ["3"], tls: true, insecure: true }), UsageError);
  assert.throws(() => resolveOptions({ target: "hosts", hosts: ["3"], cacert: "/a", cert: "/b", key: "/c" }), /--target hosts make their own/);
});

test("reports with --tls on hosts: a section per size, conditions and transport, labelled with both", () => {
  const r = hostsResult();
  const runs = r.runs.flatMap((run) => [true, false].map((tls) => ({ ...run, id: `${run.id.replace("@", tls ? "-tls@" : "-plain@")}`, tls })));
  const both: BenchResultFile = { ...r, options: { ...r.options, transports: ["tls", "plaintext"] }, runs };
  const md = renderMarkdown(both);
  for (const h of ["3 hosts, 0ms, TLS", "3 hosts, 0ms, plaintext", "3 hosts, 20ms, TLS", "3 hosts, 20ms, plaintext"]) {
    assert.equal(md.split(`\n## ${h}\n`).length, 2, `one section "${h}"`);
  }
  assert.match(md, /\n\| 3 \(20ms\) TLS \| put.*\n/);
  assert.match(md, /\n\| 3 \(20ms\) plaintext \| put.*\n/);
  assert.match(renderHtml(both), /<h3>3 hosts, 20ms, plaintext<\/h3>/);
  // One transport in the file: the labels stay as they were.
  assert.doesNotMatch(renderMarkdown(r), /TLS|plaintext/);
});
