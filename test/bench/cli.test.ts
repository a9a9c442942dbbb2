/**
 * The commands as a person runs them: --help, bad input (clear error, exit 2, nothing started), a short run
 * end to end with the local runner, a run against --endpoints, and Ctrl-C in the middle of a run (exit 130,
 * clusters torn down, no process left: every process the run started carries a marker in its environment).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdChannel, prefixEnd, unary } from "../../bench/etcd-client.js";
import { readResultFile } from "../../bench/result-file.js";
import { packageRoot } from "../../server/util/package-root.js";
import { downCluster, haveEtcd, upCluster, type LocalCluster } from "../support/launcher.js";
import { pidsWithEnv, runCli } from "./helpers/procs.js";

const FIXTURE = join(packageRoot(), "test", "bench", "fixtures", "result-v1.json");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function noneLeft(mark: string): Promise<void> {
  // Processes being reaped may linger a moment after their parent exited.
  for (let i = 0; i < 20 && pidsWithEnv("ETCDKIT_TEST_MARK", mark).length; i++) await sleep(100);
  assert.deepEqual(pidsWithEnv("ETCDKIT_TEST_MARK", mark), [], "no process of the run is left");
}

describe("etcdkit bench / compare commands", { timeout: 170_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "etcdkit-cli-"));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test("--help on both commands", async () => {
    const [b, c] = await Promise.all([runCli(["bench", "--help"]), runCli(["compare", "--help"])]);
    assert.equal(b.code, 0);
    for (const f of ["--topologies", "--conns", "--clients", "--total", "--duration", "--rate", "--key-size", "--val-size", "--key-space-size", "--sequential-keys", "--consistency", "--trials", "--out", "--endpoints", "--stack-outputs", "--quick"]) {
      assert.ok(b.stdout.includes(f), `bench --help lists ${f}`);
    }
    assert.equal(c.code, 0);
    assert.match(c.stdout, /Usage: etcdkit compare A\.json B\.json/);
  });

  test("bad input: a clear error, exit 2, nothing started", async () => {
    const mark = randomBytes(6).toString("hex");
    const env = { ETCDKIT_TEST_MARK: mark };
    const v2 = join(dir, "v2.json");
    writeFileSync(v2, readFileSync(FIXTURE, "utf8").replace('"schemaVersion":1', '"schemaVersion":2'));
    const cases: [string[], RegExp][] = [
      [["bench", "--workloads", "put,bogus"], /unknown workload "bogus"/],
      [["bench", "--clients", "0"], /--clients must be an integer >= 1, got 0/],
      [["bench", "--conns", "x"], /--conns takes an integer, got "x"/],
      [["bench", "--topologies", "2"], /--topologies: 2 is not a supported cluster size/],
      [["bench", "--total", "10", "--duration", "5"], /--total and --duration exclude each other/],
      [["bench", "--consistency", "x"], /--consistency must be l \(linearizable\) or s \(serializable\)/],
      [["bench", "--frobnicate"], /unknown flag --frobnicate/],
      [["bench", "--endpoints", "http://127.0.0.1:9", "--workloads", "put"], /endpoint not answering etcd's gRPC API: http:\/\/127\.0\.0\.1:9/],
      [["bench", "--from-result", v2], /result schema version 2 is not supported; this etcdkit reads version 1/],
      [["compare", FIXTURE, v2], /v2\.json: result schema version 2 is not supported/],
      [["compare", FIXTURE], /expected two result files, got 1/],
      [["bench", "--quick", "--full"], /--quick and --full exclude each other/],
      [["bench", "--clients", "1,100", "--conns", "1,2,3"], /--conns has 3 values for 2 --clients values/],
      [["bench", "--cross-check", "--etcdprobe", join(dir, "no-such-etcdprobe")], /etcdprobe not found .*build.*--etcdprobe PATH/],
      [["bench", "--cross-check", "--ops", "txn"], /--ops: unknown op "txn"/],
      [["bench", "--cross-check", "--workloads", "put"], /unknown flag --workloads/],
      [["compare", FIXTURE, join(dir, "missing.json")], /cannot read .*missing\.json: ENOENT/],
    ];
    const t0 = Date.now();
    const runs = await Promise.all(cases.map(([args]) => runCli(args, { env, timeoutMs: 60_000 })));
    runs.forEach((r, i) => {
      const [args, re] = cases[i]!;
      assert.equal(r.code, 2, `${args.join(" ")}: exit 2 (stderr: ${r.stderr})`);
      assert.match(r.stderr, re, args.join(" "));
      assert.ok(!r.stderr.includes("    at "), `${args.join(" ")}: an error message, not a stack trace`);
    });
    assert.ok(Date.now() - t0 < 60_000, "bad input fails fast");
    await noneLeft(mark);
  });

  test("a short run end to end with the local runner: reports written, nothing left", { skip: haveEtcd() ? false : "no etcd" }, async () => {
    const mark = randomBytes(6).toString("hex");
    const out = join(dir, "run1");
    const r = await runCli(
      ["bench", "--server", "etcd", "--baseline", "none", "--topologies", "1", "--workloads", "put,http-range", "--total", "200", "--trials", "1", "--conns", "1", "--clients", "4", "--out", out],
      { env: { ETCDKIT_TEST_MARK: mark }, timeoutMs: 90_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[1\/2\] 1-etcd put trial 1\/1/, "progress: step lines when not on a terminal");
    assert.match(r.stdout, /## 1 member/);
    assert.match(r.stdout, /## Headline \(1-etcd\)\n\n\| members \| figure \| etcd \|[^\n]*\n[^\n]*\n\| 1 \| put, 4 clients \(req\/s\) \|/, "the headline table is printed last");
    const res = readResultFile(join(out, "result.json"));
    assert.equal(res.runs.length, 1);
    assert.equal(res.runs[0]!.status, "ok");
    assert.deepEqual(res.runs[0]!.workloads.map((w) => [w.name, w.status, w.trials.length]), [["put", "ok", 1], ["http-range", "ok", 1]]);
    assert.ok(res.machine.fsync && res.machine.fsync.p50Ms > 0 && res.machine.fsync.p99Ms >= res.machine.fsync.p50Ms);
    assert.ok(res.machine.cores >= 1 && res.machine.node === process.version);
    assert.ok(existsSync(join(out, "summary.md")) && existsSync(join(out, "report.html")));
    await noneLeft(mark);
  });

  test("load shapes and memory: put at 1 and 4 clients, each member's memory taken apart", { skip: haveEtcd() ? false : "no etcd" }, async () => {
    const mark = randomBytes(6).toString("hex");
    const out = join(dir, "run-shapes");
    const r = await runCli(
      ["bench", "--server", "etcd", "--baseline", "none", "--topologies", "1", "--workloads", "memory,put", "--clients", "1,4", "--memory-keys", "3000", "--memory-settle", "1", "--duration", "1", "--trials", "1", "--out", out, "--quiet"],
      { env: { ETCDKIT_TEST_MARK: mark }, timeoutMs: 90_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const res = readResultFile(join(out, "result.json"));
    assert.deepEqual(res.options.shapes, [{ conns: 1, clients: 1 }, { conns: 1, clients: 4 }]);
    assert.equal(res.options.connections, "all-members");
    const ws = res.runs[0]!.workloads;
    assert.deepEqual(ws.map((w) => [w.name, w.status, w.params.clients ?? null]), [["memory", "ok", null], ["put@1", "ok", 1], ["put@4", "ok", 4]]);
    const m = ws[0]!.trials[0]!;
    assert.ok(m.kind === "memory" && m.written === 3000, "every key written");
    assert.ok(m.kind === "memory" && m.settleMs === 1000 && m.settled?.length === 1, "--memory-settle 1: a third sample, 1 s later");
    assert.equal(res.options.memorySettleMs, 1000);
    for (const mm of [...m.atRest, ...m.afterKeys, ...m.settled!]) {
      assert.ok(mm.rssBytes! > 0 && mm.anonBytes! > 0 && mm.fileBytes! > 0 && mm.anonBytes! + mm.fileBytes! <= mm.rssBytes! + 4096, JSON.stringify(mm));
      assert.ok(mm.dbMapBytes! > 0 && mm.dbMapBytes! <= mm.fileBytes!, `etcd's bbolt file is mapped and counted in the file-backed part: ${JSON.stringify(mm)}`);
      assert.ok(mm.dbFileBytes! > 0 && mm.heapBytes! > 0, "file size on disk and Go's heap from /metrics");
    }
    assert.ok(ws[0]!.summary.rssAfterMB!.median >= ws[0]!.summary.rssAtRestMB!.median * 0.5);
    const md = readFileSync(join(out, "summary.md"), "utf8");
    assert.match(md, /## Headline[\s\S]*\| 1 \| put, 1 client \(req\/s\) \|[\s\S]*\| 1 \| put, 4 clients \(req\/s\) \|[\s\S]*RSS after 3,000 keys[\s\S]*RSS 1 s after the keys, idle/);
    assert.ok(ws[0]!.summary.rssSettledMB!.median > 0);
    assert.match(md, /### Memory of the largest member/);
    await noneLeft(mark);
  });

  describe("against --endpoints", { skip: haveEtcd() ? false : "no etcd" }, () => {
    let cluster: LocalCluster;
    before(async () => {
      cluster = await upCluster("bench-cli", { members: 1, server: "etcd" });
    });
    after(async () => {
      await downCluster(cluster, "bench-cli");
    });

    test("runs once against the given servers, skips failover, removes its keys", async () => {
      const out = join(dir, "run2");
      const r = await runCli(["bench", "--endpoints", cluster.endpoints().join(","), "--workloads", "range-l,failover-kill-leader", "--clients", "8", "--total", "200", "--trials", "1", "--out", out, "--quiet"], {
        timeoutMs: 90_000,
      });
      assert.equal(r.code, 0, r.stderr);
      const res = readResultFile(join(out, "result.json"));
      assert.equal(res.options.target, "endpoints");
      assert.equal(res.runs.length, 1);
      const [range, fo] = res.runs[0]!.workloads;
      assert.equal(range!.status, "ok");
      assert.equal(fo!.status, "skipped");
      assert.match(fo!.skipReason!, /needs at least 3 members/);
      const ch = new EtcdChannel(cluster.endpoints()[0]!);
      try {
        const key = Buffer.from("bench/");
        const left = await unary(ch.kv(), "Range", { key, range_end: prefixEnd(key), count_only: true }, 5000);
        assert.equal(String(left.count), "0", "the run's keys were deleted from a cluster it does not own");
      } finally {
        ch.close();
      }
    });
  });

  test("Ctrl-C during a run: load stopped, cluster torn down, partial result, exit 130", { skip: haveEtcd() ? false : "no etcd" }, async () => {
    const mark = randomBytes(6).toString("hex");
    const out = join(dir, "run3");
    let sent = false;
    const r = await runCli(["bench", "--server", "etcd", "--baseline", "none", "--topologies", "3", "--workloads", "put", "--clients", "8", "--duration", "60", "--trials", "2", "--warmup", "0", "--out", out], {
      env: { ETCDKIT_TEST_MARK: mark },
      timeoutMs: 90_000,
      onStderr: (chunk, child) => {
        // no warm-up: on a loaded machine the 500 warm-up requests could outlast the 2.5 s before SIGINT
        if (!sent && /put trial 1\/2/.test(chunk)) {
          sent = true;
          setTimeout(() => child.kill("SIGINT"), 2500);
        }
      },
    });
    assert.ok(sent, `the run reached the load (stderr: ${r.stderr})`);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /SIGINT: stopping the load and tearing down/);
    assert.match(r.stderr, /tearing down 3-etcd/);
    const res = readResultFile(join(out, "result.json"));
    assert.equal(res.interrupted, true);
    const put = res.runs[0]!.workloads[0]!;
    assert.equal(put.status, "interrupted");
    // The trial that was cut short is kept with what it measured: a couple of seconds of a 60 s trial.
    assert.equal(put.trials.length, 1);
    const t = put.trials[0]!;
    assert.ok(t.kind === "load" && t.ok > 0 && t.measuredMs < 30_000 && t.ok + t.errors + t.timeouts === t.sent);
    await noneLeft(mark);
  });
});
