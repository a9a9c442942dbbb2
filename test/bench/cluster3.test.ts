/**
 * A 3-member real etcd cluster brought up by the project's local runner (ansible-free-scripts/local, as
 * `etcdkit bench` brings clusters up): a load workload over all members, then every failover scenario with
 * zero lost acknowledged writes.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveOptions } from "../../bench/cli.js";
import type { FailoverTrial, LoadTrial } from "../../bench/schema.js";
import { localFactory, type ClusterTarget } from "../../bench/target.js";
import { workloadDef, type WorkloadContext } from "../../bench/workloads.js";
import { assertSaneLoadTrial } from "./helpers/assert.js";
import { haveEtcd } from "../support/launcher.js";
import { httpGet } from "../../ansible-free-scripts/common/health.js";

const skip = haveEtcd() ? false : "no etcd 3.4 on PATH";

describe("3-member etcd cluster", { skip, timeout: 170_000 }, () => {
  let target: ClusterTarget;
  let ctx: WorkloadContext;
  const ac = new AbortController();

  before(async () => {
    target = await localFactory()(3, "etcd", ac.signal);
    const opts = resolveOptions({ conns: 3, clients: 9, total: 300, warmup: 20, trials: 1, workers: 2, "pause-ms": 2500, timeout: 1000 });
    ctx = { target, opts, prefix: "bench/test3/", signal: ac.signal, progress: () => {}, log: () => {}, state: new Map(), endpoints: target.endpoints() };
  });
  after(async () => {
    await target?.down();
  });

  test("put over three members", async () => {
    const t = (await workloadDef("put")!.runTrial(ctx, 1)) as LoadTrial;
    assertSaneLoadTrial(t, 300, "put ×3", 3);
    for (const m of t.members) assert.ok(m.walFsync && m.walFsync.count > 0, `${m.name}: WAL fsyncs during the run`);
  });

  test("one connection, one client: requests go to every member in turn, as clientv3 sends them", async () => {
    // Each member's own count of the Put calls it handled (etcd's gRPC server metrics), before and after.
    const handled = async () =>
      Promise.all(
        target.members().map(async (m) => {
          // The suite's clusters are TLS (the kit's default): ask with the target's client certificate.
          const res = await httpGet(`${m.clientUrl}/metrics`, 5000, target.tls);
          assert.ok(res && res.status === 200, `${m.clientUrl}/metrics answers`);
          const text = res.body;
          const line = text.split("\n").find((l) => l.startsWith("grpc_server_handled_total{") && l.includes('grpc_method="Put"') && l.includes('grpc_code="OK"'));
          return line ? Number(line.split(" ").pop()) : 0;
        }),
      );
    const before = await handled();
    const one = { ...ctx, opts: { ...ctx.opts, conns: 1, clients: 1, workers: 1, warmup: 0, total: 300 } };
    const t = (await workloadDef("put")!.runTrial(one, 1)) as LoadTrial;
    assert.equal(t.ok, 300);
    const after = await handled();
    const perMember = after.map((a, i) => a - before[i]!);
    assert.deepEqual(perMember, [100, 100, 100], `Put calls handled per member: ${perMember.join(", ")}`);
  });

  for (const scenario of ["kill-leader", "stop-leader", "kill-follower", "pause-leader"]) {
    test(`failover ${scenario}: no acknowledged write lost`, async () => {
      const def = workloadDef(`failover-${scenario}`)!;
      const t = (await def.runTrial(ctx, 1)) as FailoverTrial;
      assert.equal(t.kind, "failover");
      assert.equal(t.lost, 0, "every acknowledged write read back");
      assert.equal(t.verifiedKeys, t.acked);
      assert.ok(t.acked > 50, `writes went through (${t.acked})`);
      assert.equal(t.sent, t.acked + t.failed + t.timedOut, "every request counted once");
      assert.ok(t.timeToFirstWriteMs !== null && t.timeToFirstWriteMs >= 0, "writes resumed");
      assert.ok(t.recoveryMs !== null && t.recoveryMs >= (t.timeToFirstWriteMs ?? 0), "victim back, cluster healthy");
      const tl = t.timeline;
      const counted = [...tl.ok, ...tl.errors, ...tl.timeouts].reduce((a, b) => a + b, 0);
      assert.ok(counted <= t.sent && counted >= t.sent * 0.8, `timeline holds the requests (${counted}/${t.sent})`);
      assert.deepEqual(tl.marks[0], { label: "fault", atMs: 0 });
      if (scenario === "kill-follower") {
        assert.equal(t.victim.role, "follower");
        assert.notEqual(t.victim.name, t.oldLeader);
      } else {
        assert.equal(t.victim.role, "leader");
        assert.equal(t.victim.name, t.oldLeader);
        assert.ok(t.leaderChanged, "a new leader was elected");
        assert.notEqual(t.newLeader, t.oldLeader);
        assert.ok(t.timeToNewLeaderMs !== null && t.timeToNewLeaderMs >= 0);
      }
      const s = def.summarize([t]);
      assert.equal(s.lost!.median, 0);
    });
  }
});
