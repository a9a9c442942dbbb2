/**
 * The test client that retries like clientv3 3.4 (test/support/clientv3-retry.ts), against two
 * scripted gRPC servers: a server-sent DEADLINE_EXCEEDED / CANCELLED is retried on the next
 * endpoint for any RPC while the context lives; an etcd error (Unavailable "request timed out",
 * Unknown) is never retried for a write; Unavailable is retried for a read; `grpc-timeout` is
 * encoded as grpc-go encodes it.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { serviceDefinition } from "../../server/pb/grpc-services.js";
import { Code, encodeGrpcTimeout, RetryingClient } from "../support/clientv3-retry.js";

type Answer = { code: number; details: string } | "ok";

/** Each server answers Put and Range with the next scripted answer for its name, and counts calls. */
function scriptedServer(name: string, script: Map<string, Answer[]>, calls: string[]): grpc.Server {
  const server = new grpc.Server();
  const answer = (method: string) => (_call: unknown, cb: grpc.sendUnaryData<object>) => {
    calls.push(`${name}:${method}`);
    const a = script.get(name)?.shift() ?? "ok";
    if (a === "ok") cb(null, { header: {} });
    else cb(a);
  };
  server.addService(serviceDefinition("etcdserverpb", "KV"), { Put: answer("Put"), Range: answer("Range") });
  return server;
}

function bind(server: grpc.Server): Promise<string> {
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(`127.0.0.1:${port}`))),
  );
}

describe("RetryingClient (clientv3 3.4's retry rules)", () => {
  const script = new Map<string, Answer[]>();
  const calls: string[] = [];
  const servers = ["a", "b"].map((n) => scriptedServer(n, script, calls));
  let eps: string[] = [];
  let client: RetryingClient;
  before(async () => {
    eps = await Promise.all(servers.map(bind));
  });
  after(() => {
    client?.close();
    servers.forEach((s) => s.forceShutdown());
  });
  const fresh = (a: Answer[], b: Answer[]) => {
    script.set("a", a);
    script.set("b", b);
    calls.length = 0;
    client?.close();
    client = new RetryingClient(eps);
    // start on "a" whatever the random first pick was
    (client as unknown as { next: number }).next = 0;
  };

  test("a write answered DEADLINE_EXCEEDED (or CANCELLED) by the server is sent again to the next member", async () => {
    fresh([{ code: Code.DEADLINE_EXCEEDED, details: "Deadline exceeded" }], []);
    const r = await client.call("Put", { key: Buffer.from("k"), value: Buffer.from("v") }, 2000);
    assert.equal(r.ok, true);
    assert.deepEqual(calls, ["a:Put", "b:Put"]);
    assert.equal(r.ctxErrorRetries, 1);
    fresh([{ code: Code.CANCELLED, details: "Cancelled" }], []);
    assert.equal((await client.call("Put", { key: Buffer.from("k") }, 2000)).ok, true);
    assert.deepEqual(calls, ["a:Put", "b:Put"]);
  });

  test("a write answered with etcd's errors is not retried", async () => {
    for (const e of [
      { code: Code.UNAVAILABLE, details: "etcdserver: request timed out" },
      { code: Code.UNKNOWN, details: "context deadline exceeded" },
    ]) {
      fresh([e], []);
      const r = await client.call("Put", { key: Buffer.from("k") }, 2000);
      assert.equal(r.ok, false);
      assert.deepEqual(r.error, { code: e.code, message: e.details, fromServer: true });
      assert.deepEqual(calls, ["a:Put"]);
    }
  });

  test("a read answered Unavailable is retried; Unknown is not", async () => {
    fresh([{ code: Code.UNAVAILABLE, details: "etcdserver: request timed out" }], []);
    assert.equal((await client.call("Range", { key: Buffer.from("k") }, 2000)).ok, true);
    assert.deepEqual(calls, ["a:Range", "b:Range"]);
    fresh([{ code: Code.UNKNOWN, details: "context deadline exceeded" }], []);
    assert.equal((await client.call("Range", { key: Buffer.from("k") }, 2000)).ok, false);
    assert.deepEqual(calls, ["a:Range"]);
  });

  test("grpc-timeout is encoded as grpc-go encodes it (8 digits at most, rounded up)", () => {
    assert.equal(encodeGrpcTimeout(0), "0n");
    assert.equal(encodeGrpcTimeout(50), "50000000n");
    assert.equal(encodeGrpcTimeout(999.8734), "999874u");
    assert.equal(encodeGrpcTimeout(1000), "1000000u");
    assert.equal(encodeGrpcTimeout(200_000), "200000m");
  });
});
