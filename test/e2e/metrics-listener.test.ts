/**
 * --listen-metrics-urls and --metrics=extensive against Debian's etcd 3.4: the metrics listener serves /metrics and
 * /health only, and the extensive level adds grpc_server_handling_seconds.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startMember, type Flavor, type MemberProcess } from "../support/launcher.js";
import { etcdctl } from "../support/etcdctl.js";
import { freePort } from "../support/ports.js";

interface Started {
  member: MemberProcess;
  metricsUrl: string;
}

async function start(flavor: Flavor, level: "basic" | "extensive"): Promise<Started> {
  const port = await freePort();
  const metricsUrl = `http://127.0.0.1:${port}`;
  const member = await startMember(flavor, { flags: [`--listen-metrics-urls=${metricsUrl}`, `--metrics=${level}`] });
  return { member, metricsUrl };
}

async function answer(url: string, init: RequestInit = {}) {
  const r = await fetch(url, init);
  const body = await r.text();
  return { status: r.status, type: r.headers.get("content-type"), allow: r.headers.get("allow"), body };
}

describe("--listen-metrics-urls and --metrics", () => {
  const started: Started[] = [];
  let etcd: Started;
  let ours: Started;
  let etcdBasic: Started;
  let oursBasic: Started;
  before(async () => {
    // one at a time: ports picked for one member are not taken by another starting at the same moment
    for (const [flavor, level] of [["etcd", "extensive"], ["etcd-ts", "extensive"], ["etcd", "basic"], ["etcd-ts", "basic"]] as const) started.push(await start(flavor, level));
    [etcd, ours, etcdBasic, oursBasic] = started as [Started, Started, Started, Started];
  });
  after(async () => {
    await Promise.all(started.map((s) => s.member.dispose()));
  });

  test("/health on the metrics listener answers as etcd's", async () => {
    // The body is the client port's /health (etcd 3.5's shape, with "reason"; see the README's differences).
    const shape = (a: Awaited<ReturnType<typeof answer>>) => ({ status: a.status, health: (JSON.parse(a.body) as { health: string }).health });
    const [e, o] = [await answer(`${etcd.metricsUrl}/health`), await answer(`${ours.metricsUrl}/health`)];
    assert.deepEqual(shape(o), { status: 200, health: "true" });
    assert.deepEqual(shape(o), shape(e));
  });

  test("only /metrics and /health are served there: other paths 404, /health takes GET only", async () => {
    for (const [path, init] of [["/version", {}], ["/v3/kv/range", { method: "POST", body: "{}" }], ["/livez", {}], ["/metrics/x", {}], ["/", {}]] as const) {
      assert.deepEqual(await answer(`${ours.metricsUrl}${path}`, init), await answer(`${etcd.metricsUrl}${path}`, init), path);
    }
    const post = { method: "POST", body: "" };
    assert.deepEqual(await answer(`${ours.metricsUrl}/health`, post), await answer(`${etcd.metricsUrl}/health`, post));
  });

  test("/metrics is served on the metrics listener, with the server's series", async () => {
    for (const s of [etcd, ours]) {
      const m = await answer(`${s.metricsUrl}/metrics`);
      assert.equal(m.status, 200, s.member.flavor);
      assert.match(m.body, /^etcd_server_has_leader 1$/m, s.member.flavor);
    }
  });

  test("--metrics=extensive adds grpc_server_handling_seconds; basic does not", async () => {
    const series = /^grpc_server_handling_seconds_bucket\{grpc_method="Put",grpc_service="etcdserverpb\.KV",grpc_type="unary",le="0\.005"\} \d+$/m;
    const seen: Record<string, boolean> = {};
    for (const s of [etcd, ours, etcdBasic, oursBasic]) {
      await etcdctl(s.member.endpoint, ["put", "metrics-key", "v"]);
      const body = (await answer(`${s.metricsUrl}/metrics`)).body;
      const canon = body.replace(/^(grpc_server_handling_seconds_bucket)\{([^}]*)\}/gm, (_m, name: string, labels: string) => `${name}{${labels.split(",").sort().join(",")}}`);
      seen[`${s.member.flavor}/${s === etcd || s === ours ? "extensive" : "basic"}`] = series.test(canon);
    }
    assert.deepEqual(seen, { "etcd/extensive": true, "etcd-ts/extensive": true, "etcd/basic": false, "etcd-ts/basic": false });
  });
});
