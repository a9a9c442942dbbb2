/**
 * Every load workload, short and bounded, against one real etcd member: complete and sane results
 * (requests counted = requests sent, percentiles ordered, per-second series adding up, members sampled).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveOptions } from "../../bench/cli.js";
import type { LoadTrial } from "../../bench/schema.js";
import { localTarget, type ClusterTarget } from "../../bench/target.js";
import { workloadDef, type WorkloadContext } from "../../bench/workloads.js";
import { assertSaneLoadTrial } from "./helpers/assert.js";
import { downCluster, haveEtcd, upCluster, type LocalCluster } from "../support/launcher.js";

const skip = haveEtcd() ? false : "no etcd 3.4 on PATH";

describe("load workloads against one real etcd member", { skip, timeout: 150_000 }, () => {
  let cluster: LocalCluster;
  let target: ClusterTarget;
  let ctx: WorkloadContext;
  const ac = new AbortController();

  before(async () => {
    cluster = await upCluster("bench-wl", { members: 1, server: "etcd" });
    target = localTarget(cluster, "etcd", 1);
    const opts = resolveOptions({ conns: 2, clients: 8, total: 300, warmup: 20, "key-space-size": 100, trials: 1, workers: 2, limit: 50, "put-rate": 200 });
    ctx = {
      target,
      opts,
      prefix: "bench/test/",
      signal: ac.signal,
      progress: () => {},
      log: () => {},
      state: new Map(),
      endpoints: target.endpoints(),
    };
  });
  after(async () => {
    await downCluster(cluster, "bench-wl");
  });

  for (const name of ["put", "range-l", "range-s", "range-keys-only", "range-count-only", "txn-mixed", "http-put", "http-range", "lease-churn"]) {
    test(name, async () => {
      const def = workloadDef(name)!;
      await def.prepare?.(ctx);
      const t = (await def.runTrial(ctx, 1)) as LoadTrial;
      assertSaneLoadTrial(t, 300, name);
      assert.equal(t.warmupRequests, name.startsWith("http") ? 20 : 20);
      if (name === "put" || name === "txn-mixed" || name === "http-put" || name === "lease-churn") {
        assert.ok(t.members[0]!.walFsync && t.members[0]!.walFsync.count > 0, `${name}: WAL fsync histogram scraped from /metrics`);
      }
      if (name === "txn-mixed") {
        const r = t.ops?.read?.count ?? 0;
        const w = t.ops?.write?.count ?? 0;
        assert.equal(r + w, t.ok, "reads + writes = all txns");
        assert.ok(r > 50 && w > 50, `rw-ratio 1 gives a mix (${r} reads, ${w} writes)`);
      }
      const summary = def.summarize([t]);
      assert.equal(summary.throughput!.median, t.throughput);
      assert.equal(summary.throughput!.spread, 0);
    });
  }

  test("watch-latency: every watcher sees every measured put", async () => {
    const def = workloadDef("watch-latency")!;
    const t = (await def.runTrial(ctx, 1)) as LoadTrial;
    // total 300 over 8 watchers → 38 puts, each delivered to 8 watchers
    assertSaneLoadTrial(t, Math.round(300 / 8) * 8, "watch-latency");
  });

  test("--duration mode runs for the time given and counts what it sent", async () => {
    const def = workloadDef("put")!;
    const dctx = { ...ctx, opts: { ...ctx.opts, total: null, durationSec: 1.5, rate: 400 } };
    const t = (await def.runTrial(dctx, 1)) as LoadTrial;
    assertSaneLoadTrial(t, null, "put --duration");
    assert.ok(t.measuredMs >= 1400 && t.measuredMs < 4000, `measured ${t.measuredMs} ms`);
    // --rate 400 for 1.5 s: never more than 600 requests (plus the in-flight ones of the 8 clients)
    assert.ok(t.sent > 0 && t.sent <= 400 * 1.5 + 8, `rate-limited count ${t.sent}`);
  });
});
