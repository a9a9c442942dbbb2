/**
 * Reports from a recorded result file (test/bench/fixtures/result-v1.json: a quick run of /usr/bin/etcd as the
 * subject against etcd as the baseline, 1 and 3 members), the result-file reader and `compare`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";
import { main as benchMain } from "../../bench/cli.js";
import { main as compareMain } from "../../bench/compare-cli.js";
import { compareResults, formatComparison, verdictOf } from "../../bench/compare.js";
import { renderHtml } from "../../bench/report-html.js";
import { renderMarkdown } from "../../bench/report-md.js";
import { parseResult, readResultFile, ResultFileError } from "../../bench/result-file.js";
import { SCHEMA_VERSION, type BenchResultFile, type FailoverTrial, type LoadTrial } from "../../bench/schema.js";
import { figure } from "../../bench/stats.js";

export const FIXTURE = join(packageRoot(), "test", "bench", "fixtures", "result-v1.json");
const load = (): BenchResultFile => readResultFile(FIXTURE);

test("the fixture is a complete, current result file", () => {
  const r = load();
  assert.equal(r.schemaVersion, SCHEMA_VERSION);
  assert.equal(r.runs.length, 4);
  for (const run of r.runs) {
    for (const w of run.workloads) {
      for (const t of w.trials) {
        if (t.kind === "load") {
          const l = (t as LoadTrial).latency;
          assert.equal(t.ok + t.errors + t.timeouts, t.sent);
          assert.ok(l.p50Ms <= l.p90Ms && l.p90Ms <= l.p99Ms && l.p99Ms <= l.p999Ms && l.p999Ms <= l.maxMs);
        } else assert.equal((t as FailoverTrial).lost, 0);
      }
    }
  }
});

test("Markdown summary: a table per topology, subject and baseline side by side with ratios", () => {
  const r = load();
  const md = renderMarkdown(r);
  assert.match(md, /^# etcdkit benchmark /);
  assert.match(md, /## 1 member\n/);
  assert.match(md, /## 3 members\n/);
  assert.match(md, /- Machine: 2 cores .*fsync \(4 KiB write \+ fdatasync, 200×\) p50 [\d.]+ ms, p99 [\d.]+ ms/);
  assert.match(md, /\| workload \| \/usr\/bin\/etcd req\/s \| etcd req\/s \| ratio \|/);
  // One load row per workload per topology, each with a ratio.
  const putRows = md.split("\n").filter((l) => l.startsWith("| put |"));
  assert.equal(putRows.length, 6, "put: a load row per topology, a servers row per server and topology");
  const put1 = r.runs[0]!.workloads.find((w) => w.name === "put")!.summary.throughput!.median;
  const put1b = r.runs[1]!.workloads.find((w) => w.name === "put")!.summary.throughput!.median;
  assert.ok(md.includes(`${(put1 / put1b).toFixed(2)}×`), "throughput ratio subject ÷ baseline");
  // Failover: skipped on one member, measured on three, lost writes 0.
  assert.match(md, /\| kill-leader \| \/usr\/bin\/etcd \| skipped: needs at least 3 members/);
  const kl = md.split("\n").filter((l) => /^\| kill-leader \| etcd \| [\d,]+/.test(l));
  assert.equal(kl.length, 1);
  assert.match(kl[0]!, /\| 0 \| [\d,]+ \| 1 \|$/, "lost 0, recovery, 1 trial");
  assert.match(md, /### Servers and client/);
  assert.match(md, /server CPU % \(all members\)/);
  // The headline: every KV figure per topology with its client count, ratio and both sides' CPU.
  const head = md.slice(md.indexOf("## Headline"), md.indexOf("## 1 member"));
  assert.match(head, new RegExp(`\\| 1 \\| put, 16 clients \\(req/s\\) \\| [\\d,]+ \\| [\\d,]+ \\| ${(put1 / put1b).toFixed(2)}× \\| [\\d.]+ / [\\d.]+ \\| [\\d.]+ / [\\d.]+ \\| [\\d.]+ / [\\d.]+ \\|`));
  assert.match(head, /\| 3 \| kill-leader: new leader \(ms\) \|/);
  assert.match(head, /connection i to member i mod N \(files written before/, "an old file says how its load was spread");
});

test("HTML report: self-contained, with the expected charts", () => {
  const r = load();
  const html = renderHtml(r);
  assert.ok(html.startsWith("<!doctype html>"));
  assert.doesNotMatch(html, /<script|<link |@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i, "no external or scripted content");
  const charts = (kind: string) => (html.match(new RegExp(`<svg class="chart" data-kind="${kind}"`, "g")) ?? []).length;
  assert.equal(charts("throughput"), 4, "one throughput-by-topology chart per load workload");
  assert.equal(charts("latency"), 4);
  assert.equal(charts("series"), 4);
  assert.equal(charts("failover"), 4, "2 scenarios × 2 servers on 3 members");
  // Throughput bars: 4 workloads × 2 topologies × 2 servers.
  assert.equal((html.match(/<rect class="bar"/g) ?? []).length, 16);
  // Latency lines: 4 workloads × 4 runs, 5 points each.
  assert.equal((html.match(/<path class="series"/g) ?? []).length, 16 + 16);
  assert.match(html, /<line class="mark"[^>]*\/><text class="mark-label"[^>]*>fault 0 ms/);
  assert.match(html, /new leader \d+ ms/);
  assert.ok((html.match(/<rect class="tl ok"/g) ?? []).length > 20, "timeline bars");
  assert.match(html, /<table data-table="Load">/);
  assert.match(html, /<table data-table="headline">/);
});

test("reports are written again from a result file (--from-result)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "etcdkit-report-"));
  try {
    const code = await benchMain(["--from-result", FIXTURE, "--out", dir]);
    assert.equal(code, 0);
    assert.match(readFileSync(join(dir, "summary.md"), "utf8"), /## 3 members/);
    assert.match(readFileSync(join(dir, "report.html"), "utf8"), /<svg class="chart"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("result files of another schema or version are refused with a clear error", () => {
  const text = readFileSync(FIXTURE, "utf8");
  const v2 = text.replace(`"schemaVersion":${SCHEMA_VERSION}`, `"schemaVersion":${SCHEMA_VERSION + 1}`);
  assert.throws(() => parseResult(v2, "b.json"), (e: unknown) => e instanceof ResultFileError && /b\.json: result schema version 2 is not supported; this etcdkit reads version 1/.test(e.message));
  assert.throws(() => parseResult('{"schema":"something else"}', "c.json"), /c\.json: not an etcdkit benchmark result/);
  assert.throws(() => parseResult("{", "d.json"), /d\.json: not JSON/);
});

test("compare: ratios per figure, regressions only beyond the measured spread", async () => {
  const a = load();
  const same = compareResults(a, a);
  assert.ok(same.rows.length > 50);
  assert.equal(same.regressions.length, 0);
  assert.ok(same.rows.every((r) => r.ratio === null || r.ratio === 1));

  // b: put on 3 members at a tenth of the throughput and 10× the p99 → flagged (far beyond the spread).
  const b: BenchResultFile = JSON.parse(JSON.stringify(a));
  const put3 = b.runs.find((x) => x.id === "3-etcd")!.workloads.find((w) => w.name === "put")!;
  const tp = put3.summary.throughput!;
  put3.summary.throughput = figure(tp.values.map((v) => v / 10), "req/s", "higher");
  const p99 = put3.summary.p99Ms!;
  put3.summary.p99Ms = figure(p99.values.map((v) => v * 10), "ms", "lower");
  const c = compareResults(a, b);
  const flagged = c.regressions.map((r) => `${r.run} ${r.workload} ${r.figure}`).sort();
  assert.deepEqual(flagged, ["3-etcd put p99Ms", "3-etcd put throughput"]);
  const text = formatComparison(c, "a.json", "b.json");
  assert.match(text, /== 3-etcd put/);
  assert.match(text, /throughput \(req\/s\).*0\.10×.*-90\.0%\s+REGRESSION/);
  assert.match(text, /2 regression\(s\)/);

  // Spread rule: a 10% drop whose trials overlapped (spread 30%) is not a regression; outside it is.
  const f = (vs: number[]) => figure(vs, "req/s", "higher");
  assert.equal(verdictOf("throughput", f([100, 85, 115]), f([90, 80, 110]), 0.05), "same");
  assert.equal(verdictOf("throughput", f([100, 99, 101]), f([90, 89, 91]), 0.05), "regression");
  assert.equal(verdictOf("lost", figure([0], "writes", "lower"), figure([1], "writes", "lower"), 0.05), "regression");
  assert.equal(verdictOf("clientCpuPct", figure([10], "%", "lower"), figure([50], "%", "lower"), 0.05), "info");

  // The command: exit 0, 1 with --fail-on-regression, 2 on another schema version.
  const dir = mkdtempSync(join(tmpdir(), "etcdkit-compare-"));
  try {
    const pb = join(dir, "b.json");
    writeFileSync(pb, JSON.stringify(b));
    const out: string[] = [];
    const w = process.stdout.write.bind(process.stdout);
    (process.stdout as { write: unknown }).write = (s: string) => (out.push(s), true);
    let c1: number, c2: number;
    try {
      c1 = await compareMain([FIXTURE, pb]);
      c2 = await compareMain([FIXTURE, pb, "--fail-on-regression"]);
    } finally {
      (process.stdout as { write: unknown }).write = w;
    }
    assert.equal(c1, 0);
    assert.equal(c2, 1);
    assert.match(out.join(""), /REGRESSION 3-etcd put throughput/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
