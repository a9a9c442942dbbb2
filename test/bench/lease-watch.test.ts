/**
 * The watch and lease workloads, short and bounded, against one etcd-ts member: lease-keepalive counts
 * keep-alives, lease-expiry records when each lease's DELETE reached its watcher, watch-latency with many
 * watchers over few connections delivers every event. About 15 s.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveOptions } from "../../bench/cli.js";
import { renderMarkdown } from "../../bench/report-md.js";
import type { BenchResultFile, LoadTrial } from "../../bench/schema.js";
import type { ClusterTarget } from "../../bench/target.js";
import { noticeWaitMs } from "../../bench/lease-expiry-load.js";
import { expandWorkloads, workloadDef, type WorkloadContext } from "../../bench/workloads.js";
import { startMember, type MemberProcess } from "../support/launcher.js";
import { assertSaneLoadTrial } from "./helpers/assert.js";

describe("watch and lease workloads against one etcd-ts member", { timeout: 60_000 }, () => {
  let member: MemberProcess;
  let ctx: WorkloadContext;
  const ac = new AbortController();

  before(async () => {
    member = await startMember("etcd-ts");
    const target: ClusterTarget = {
      kind: "local",
      server: "etcd-ts",
      size: 1,
      members: () => [{ name: "m1", clientUrl: member.clientUrl, pid: member.child.pid ?? null }],
      endpoints: () => [member.clientUrl],
      control: null,
      down: async () => {},
    };
    const opts = resolveOptions({ conns: 2, clients: 20, total: 2000, warmup: 20, trials: 1, workers: 2, "expiry-leases": 4, "expiry-ttl": 1, "put-rate": 200 });
    ctx = { target, opts, prefix: "bench/test-lw/", signal: ac.signal, progress: () => {}, log: () => {}, state: new Map(), endpoints: target.endpoints() };
  });
  after(async () => {
    await member?.dispose();
  });

  test("the lease group expands to churn, keep-alive and expiry", () => {
    assert.deepEqual(expandWorkloads(["lease"], null), ["lease-churn", "lease-keepalive", "lease-expiry"]);
  });

  test("lease-keepalive: every keep-alive of the 20 leases answered, closed loop per stream", async () => {
    const def = workloadDef("lease-keepalive")!;
    const t = (await def.runTrial(ctx, 1)) as LoadTrial;
    assertSaneLoadTrial(t, 2000, "lease-keepalive");
    // warm-up = one keep-alive per lease (opens its stream) + --warmup
    assert.equal(t.warmupRequests, 20 + 20);
    assert.ok(t.throughput > 50, `keep-alives/s ${t.throughput}`);
    assert.equal(def.params(ctx.opts).leases, 20);
    // the leases were revoked at the end of the trial
    const { EtcdChannel, unary } = await import("../../bench/etcd-client.js");
    const ch = new EtcdChannel(member.clientUrl);
    try {
      const res = await unary(ch.lease(), "LeaseLeases", {}, 3000);
      assert.equal(res.leases.length, 0, "no lease left behind");
    } finally {
      ch.close();
    }
  });

  test("lease-expiry: each lease's DELETE reaches its watcher shortly after the nominal expiry", async () => {
    const def = workloadDef("lease-expiry")!;
    const t0 = Date.now();
    const t = (await def.runTrial(ctx, 1)) as LoadTrial;
    assertSaneLoadTrial(t, 4, "lease-expiry");
    // --expiry-ttl 1 is below the minimum: the server grants 2 s (etcd's minimum with default timings)
    assert.deepEqual(Object.keys(t.ops ?? {}), ["ttl-2s"]);
    assert.equal(t.ops!["ttl-2s"]!.count, 4);
    // the expiry loop runs every 500 ms: a notice well under 2 s, never later than the 5 s bound
    assert.ok(t.latency.maxMs < 2000, `notice times ${JSON.stringify(t.latency)}`);
    // 4 leases spread over TTL + 1 s, each 2 s + notice: a few seconds, not the sum of them
    assert.ok(Date.now() - t0 < 12_000, `trial took ${Date.now() - t0} ms`);
    const summary = def.summarize([t]);
    assert.equal(summary.p50Ms!.median, t.latency.p50Ms);
    // the Markdown report gives expiry its own table (pooled over the trials), not a req/s row
    const md = renderMarkdown(fakeResult(ctx, t));
    assert.match(md, /### Lease expiry/);
    assert.match(md, /\| lease-expiry \| etcd-ts \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 4 \/ 4 \| [\d,.]+ \| 1 \|/);
    assert.doesNotMatch(md, /### Load/);
    // every lease noticed: the time until none was left is the measured window; a missed lease: no such figure
    assert.equal(summary.allGoneMs!.median, t.measuredMs);
    assert.equal(def.summarize([{ ...t, ok: t.sent - 1, timeouts: 1 }]).allGoneMs, undefined);
  });

  test("lease-expiry: the notice wait covers twice what etcd's revoke rate (1000/s) needs for the trial's leases", () => {
    assert.equal(noticeWaitMs(40, 5000), 5000);
    assert.equal(noticeWaitMs(40, 8000), 8000);
    assert.equal(noticeWaitMs(20_000, 5000), 40_000);
  });

  test("put-idle-watchers: puts measured while idle prefix watchers are open, closed after the trial", async () => {
    const def = workloadDef("put-idle-watchers")!;
    const ictx = { ...ctx, opts: { ...ctx.opts, idleWatchers: 300, total: 200, warmup: 10 } };
    assert.equal(def.params(ictx.opts).idleWatchers, 300);
    const t = (await def.runTrial(ictx, 1)) as LoadTrial;
    assertSaneLoadTrial(t, 200, "put-idle-watchers");
  });

  test("watch-latency: 200 watchers over 2 connections see every measured put", async () => {
    const def = workloadDef("watch-latency")!;
    const wctx = { ...ctx, opts: { ...ctx.opts, clients: 200, total: 200 * 20 } };
    const t = (await def.runTrial(wctx, 1)) as LoadTrial;
    assertSaneLoadTrial(t, 200 * 20, "watch-latency ×200");
  });
});

function fakeResult(ctx: WorkloadContext, t: LoadTrial): BenchResultFile {
  const def = workloadDef("lease-expiry")!;
  return {
    schema: "etcdkit.bench.result",
    schemaVersion: 1,
    tool: { name: "etcdkit", version: "0" },
    runId: "test",
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: 1,
    argv: [],
    options: ctx.opts,
    machine: { hostname: "h", platform: "linux", release: "", arch: "", cpuModel: "", cores: 2, totalMemBytes: 0, node: "", loadavgStart: [], loadavgEnd: [], fsync: null },
    runs: [
      {
        id: "1-etcd-ts",
        members: 1,
        server: "etcd-ts",
        role: "subject",
        target: { kind: "local", endpoints: ctx.endpoints },
        status: "ok",
        setupMs: 0,
        teardownMs: 0,
        workloads: [{ name: "lease-expiry", family: "lease", status: "ok", params: def.params(ctx.opts), trials: [t], summary: def.summarize([t]) }],
      },
    ],
    interrupted: false,
    notes: [],
  };
}
