/**
 * PendingCounts (server/metrics/pending-counts.ts): the unary calls' started/handled counts are kept
 * in plain numbers and added to prom-client's counters when the registry is read; every read sees
 * every count made before it, once.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ServerMetrics } from "../../server/metrics/metrics.js";
import { unary } from "../../server/api/grpc/unary.js";

const RANGE = { grpc_type: "unary", grpc_service: "etcdserverpb.KV", grpc_method: "Range" };

async function series(m: ServerMetrics, name: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await m.registry.getSingleMetric(name)!.get()).values) out.set(JSON.stringify(v.labels), v.value);
  return out;
}

describe("pending counts of gRPC calls", () => {
  test("counts made between reads are all added, each once; a label set never counted has no series", async () => {
    const m = new ServerMetrics(() => 0);
    const count = m.grpcStartedCounts.counterFor(RANGE);
    m.grpcStartedCounts.counterFor({ ...RANGE, grpc_method: "Put" });
    count();
    count();
    assert.deepEqual([...(await series(m, "grpc_server_started_total"))], [[JSON.stringify(RANGE), 2]]);
    assert.deepEqual([...(await series(m, "grpc_server_started_total"))], [[JSON.stringify(RANGE), 2]], "a second read adds nothing");
    count();
    assert.match(await m.registry.metrics(), /grpc_server_started_total\{grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Range"\} 3\n/);
  });

  test("a unary handler's calls: started and OK through the pending counts, errors directly, all in the scrape", async () => {
    const m = new ServerMetrics(() => 0);
    const handler = unary(m, "etcdserverpb.KV", "Range", async (_ctx, req: { fail?: boolean }) => {
      if (req.fail) throw new Error("boom");
      return {};
    });
    if (!("unary" in handler)) throw new Error("unary");
    const call = (fail: boolean) =>
      new Promise<void>((resolve) =>
        handler.unary(
          { metadata: () => undefined, session: {}, timeoutMs: undefined, onCancel: () => undefined, reply: () => resolve(), fail: () => resolve() } as never,
          { fail },
        ),
      );
    await call(false);
    await call(false);
    await call(true);
    const handled = await series(m, "grpc_server_handled_total");
    assert.equal(handled.get(JSON.stringify({ ...RANGE, grpc_code: "OK" })), 2);
    assert.equal(handled.get(JSON.stringify({ ...RANGE, grpc_code: "Unknown" })), 1);
    assert.equal((await series(m, "grpc_server_started_total")).get(JSON.stringify(RANGE)), 3);
  });
});
