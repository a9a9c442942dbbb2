import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:http2";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";
import { gatewayPost, gatewayRaw } from "../support/gateway.js";

/**
 * Flags whose effect shows on the wire, against etcd 3.4.23 started with the same flags, and the
 * start-up lines etcd-ts writes for flags that have no effect on it.
 */

/**
 * The client port's HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, as in force once a call went through.
 */
function advertisedStreams(clientUrl: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const s = connect(clientUrl);
    s.once("error", reject);
    const call = s.request({ ":method": "POST", ":path": "/etcdserverpb.Maintenance/Status", "content-type": "application/grpc", te: "trailers" });
    call.on("error", reject);
    call.on("response", () => {
      call.close();
      resolve(s.remoteSettings.maxConcurrentStreams);
      s.close();
    });
    call.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

describe("--max-concurrent-streams, --experimental-watch-progress-notify-interval, --experimental-warning-apply-duration and Go-only flags", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]), {
    flags: ["--max-concurrent-streams=7", "--experimental-watch-progress-notify-interval=500ms", "--experimental-warning-apply-duration=1ns", "--enable-pprof", "--auth-token-ttl=60", "--logger=zap"],
  });

  test("the client port advertises the stream limit in its HTTP/2 SETTINGS", async () => {
    assert.equal(await advertisedStreams(ours.clientUrl), 7);
    assert.equal(await advertisedStreams(etcd.clientUrl), 7);
  });

  test("a progress_notify watch gets an empty progress response at about the interval", async () => {
    for (const m of [etcd, ours]) {
      const r = await gatewayPost(m, "/v3/watch", '{"create_request":{"key":"cA==","progress_notify":true}}', 2_500);
      const lines = r.body.trim().split("\n").map((l) => JSON.parse(l) as { result: { created?: boolean; events?: unknown[]; header: { revision: string } } });
      assert.ok(lines[0]!.result.created, `${m.flavor}: ${r.body}`);
      const progress = lines.slice(1).filter((l) => !l.result.created && !l.result.events);
      assert.ok(progress.length >= 1, `${m.flavor} sent no progress notification in 2.5 s: ${r.body}`);
    }
  });

  test("an apply slower than the warning duration is logged as etcd logs it; Go-only flags are named at start-up", async () => {
    for (const m of [etcd, ours]) assert.equal(((await gatewayRaw(m.clientUrl, "/v3/kv/put", '{"key":"aw==","value":"dg=="}')) as { status: number }).status, 200);
    const warned = (m: MemberProcess) => m.log().split("\n").some((l) => l.includes('"msg":"apply request took too long"') && l.includes('"expected-duration":"1ns"'));
    for (let i = 0; i < 50 && !warned(ours); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(warned(etcd), "etcd logs the slow apply");
    assert.ok(warned(ours), "etcd-ts logs the slow apply");
    const log = ours.log();
    assert.match(log, /"flag":"--enable-pprof","value":"true","reason":"pprof is Go's profiler[^"]*","msg":"flag has no effect on etcd-ts"/);
  });
});
