/**
 * The load generator's own gRPC client against a grpc-js server (nghttp2 underneath, so a second HTTP/2
 * implementation checks the framing): bodies larger than a frame and than the flow-control windows, a
 * response larger than half the stream window, the server's stream limit, statuses and their messages,
 * deadlines, a server that goes away and comes back; and against real etcd, the same error as grpc-js gives.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { serviceDefinition } from "../../server/api/proto/load.js";
import { EtcdChannel, errorKind, unary } from "../../bench/etcd-client.js";
import { BalancedConnection } from "../../bench/h2/balanced.js";
import { GrpcH2Channel, frameMessage } from "../../bench/h2/channel.js";
import { fixedRequest, KV_PUT, KV_RANGE } from "../../bench/kv-requests.js";
import { downCluster, haveEtcd, upCluster, type LocalCluster } from "../support/launcher.js";

type Call = grpc.ServerUnaryCall<{ key: Buffer; value: Buffer }, unknown>;
type Cb = grpc.sendUnaryData<unknown>;

/** A KV service whose answers the tests choose by key; Put answers with the value's length as the revision. */
function fakeKv(counter: { calls: number; inFlight: number; maxInFlight: number }): grpc.UntypedServiceImplementation {
  return {
    Put: (call: Call, cb: Cb) => {
      counter.calls++;
      cb(null, { header: { revision: String(call.request.value.length) } });
    },
    Range: (call: Call, cb: Cb) => {
      counter.calls++;
      counter.inFlight++;
      counter.maxInFlight = Math.max(counter.maxInFlight, counter.inFlight);
      const done = (err: Partial<grpc.StatusObject> | null, res?: unknown) => {
        counter.inFlight--;
        cb(err as grpc.ServiceError | null, res);
      };
      const key = call.request.key.toString();
      if (key === "big") return done(null, { kvs: [{ key: Buffer.from("big"), value: Buffer.alloc(20 << 20, 7) }], count: "1" });
      if (key === "err") return done({ code: grpc.status.FAILED_PRECONDITION, details: "etcdserver: not leader — ü%" });
      if (key === "slow") return void setTimeout(() => done(null, {}), 1500);
      if (key === "wait") return void setTimeout(() => done(null, { count: "1" }), 20);
      done(null, { count: "0" });
    },
  };
}

async function startServer(impl: grpc.UntypedServiceImplementation, port = 0, options: grpc.ServerOptions = {}): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server(options);
  server.addService(serviceDefinition("etcdserverpb", "KV"), impl);
  const bound = await new Promise<number>((res, rej) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { server, port: bound };
}

const decodePutResponse = (msg: Buffer) => (serviceDefinition("etcdserverpb", "KV").Put!.responseDeserialize(msg) as { header: { revision: string } }).header.revision;

describe("the load generator's gRPC client against a grpc-js server", { timeout: 60_000 }, () => {
  const counter = { calls: 0, inFlight: 0, maxInFlight: 0 };
  let srv: { server: grpc.Server; port: number };
  let ch: GrpcH2Channel;

  before(async () => {
    srv = await startServer(fakeKv(counter), 0, { "grpc.max_concurrent_streams": 4 });
    ch = new GrpcH2Channel(`http://127.0.0.1:${srv.port}`, { timeoutMs: 800 });
    await ch.ready();
  });
  after(() => {
    ch.close();
    srv.server.forceShutdown();
  });

  test("a 300 KB request crosses frames and flow-control windows whole", async () => {
    for (const size of [0, 1, 16_384, 65_535, 300_000]) {
      const msg = await ch.unary(KV_PUT, fixedRequest("Put", { key: Buffer.from("k"), value: Buffer.alloc(size, 1) }));
      assert.equal(decodePutResponse(msg), String(size));
    }
  });

  test("a 20 MiB answer, more than the 16 MiB stream window, arrives whole (the client gives the window back as it reads)", async () => {
    const own = new GrpcH2Channel(`http://127.0.0.1:${srv.port}`, { timeoutMs: 30_000 });
    try {
      for (let i = 0; i < 2; i++) {
        const msg = await own.unary(KV_RANGE, fixedRequest("Range", { key: Buffer.from("big") }));
        assert.ok(msg.length > 20 << 20);
      }
    } finally {
      own.close();
    }
  });

  test("beyond the server's 4 concurrent streams, requests wait for a slot and all succeed", async () => {
    counter.maxInFlight = 0;
    const req = fixedRequest("Range", { key: Buffer.from("wait") });
    const rs = await Promise.all(Array.from({ length: 40 }, () => ch.unary(KV_RANGE, req)));
    assert.equal(rs.length, 40);
    assert.ok(counter.maxInFlight <= 4, `at most 4 at once on the server, saw ${counter.maxInFlight}`);
  });

  test("a status and its message come back as grpc-js reports them; the deadline gives DEADLINE_EXCEEDED", async () => {
    const e = await ch.unary(KV_RANGE, fixedRequest("Range", { key: Buffer.from("err") })).then(
      () => assert.fail("no error"),
      (x: unknown) => x,
    );
    assert.equal(errorKind(e), "FAILED_PRECONDITION: etcdserver: not leader — ü%");
    const t0 = Date.now();
    const slow = await ch.unary(KV_RANGE, fixedRequest("Range", { key: Buffer.from("slow") })).catch((x: unknown) => x);
    assert.equal((slow as { code: number }).code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - t0 < 1400, "failed at the 800 ms deadline, not when the answer came");
    // The channel is still good after a cancelled stream.
    assert.ok(await ch.unary(KV_RANGE, fixedRequest("Range", { key: Buffer.from("x") })));
  });

  test("a server that goes away: UNAVAILABLE, then calls succeed again once it is back", async () => {
    const own = await startServer(fakeKv(counter));
    const c = new GrpcH2Channel(`http://127.0.0.1:${own.port}`, { timeoutMs: 2000 });
    try {
      const req = fixedRequest("Range", { key: Buffer.from("x") });
      await c.unary(KV_RANGE, req);
      own.server.forceShutdown();
      const e = await c.unary(KV_RANGE, req).catch((x: unknown) => x);
      assert.equal((e as { code: number }).code, grpc.status.UNAVAILABLE, String(e));
      const back = await startServer(fakeKv(counter), own.port);
      try {
        let ok = false;
        for (let i = 0; i < 40 && !ok; i++) {
          ok = await c.unary(KV_RANGE, req).then(
            () => true,
            () => new Promise<boolean>((r) => setTimeout(() => r(false), 50)),
          );
        }
        assert.ok(ok, "reconnected after the back-off");
      } finally {
        back.server.forceShutdown();
      }
    } finally {
      c.close();
    }
  });

  test("one connection over three servers: each gets a third of the requests", async () => {
    const counts = [0, 0, 0].map(() => ({ calls: 0, inFlight: 0, maxInFlight: 0 }));
    const servers = await Promise.all(counts.map((cnt) => startServer(fakeKv(cnt))));
    const c = new BalancedConnection(servers.map((s) => `http://127.0.0.1:${s.port}`), { timeoutMs: 2000 });
    try {
      await c.ready();
      const req = fixedRequest("Put", { key: Buffer.from("k"), value: Buffer.from("v") });
      for (let i = 0; i < 30; i++) await c.unary(KV_PUT, req);
      assert.deepEqual(counts.map((x) => x.calls), [10, 10, 10]);
    } finally {
      c.close();
      for (const s of servers) s.server.forceShutdown();
    }
  });
});

describe("against real etcd: the same answers as grpc-js", { skip: haveEtcd() ? false : "no etcd", timeout: 60_000 }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await upCluster("bench-h2", { members: 1, server: "etcd" });
  });
  after(async () => {
    await downCluster(cluster, "bench-h2");
  });

  test("put, range, and an invalid request's error", async () => {
    const ep = cluster.endpoints()[0]!;
    const h2 = new GrpcH2Channel(ep, { timeoutMs: 5000 });
    const js = new EtcdChannel(ep);
    try {
      await h2.unary(KV_PUT, fixedRequest("Put", { key: Buffer.from("h2/a"), value: Buffer.from("1") }));
      const got = await unary(js.kv(), "Range", { key: Buffer.from("h2/a") }, 5000);
      assert.equal(Buffer.from(got.kvs[0].value).toString(), "1");
      const msg = await h2.unary(KV_RANGE, fixedRequest("Range", { key: Buffer.from("h2/a") }));
      const decoded = serviceDefinition("etcdserverpb", "KV").Range!.responseDeserialize(msg) as { count: string };
      assert.equal(decoded.count, "1");
      const bad = { key: Buffer.alloc(0) };
      const e1 = await h2.unary(KV_RANGE, frameMessage(serviceDefinition("etcdserverpb", "KV").Range!.requestSerialize(bad))).catch((x: unknown) => x);
      const e2 = await unary(js.kv(), "Range", bad, 5000).catch((x: unknown) => x);
      assert.equal(errorKind(e1), errorKind(e2));
      assert.match(errorKind(e1), /^INVALID_ARGUMENT: etcdserver: key is not provided$/);
    } finally {
      h2.close();
      js.close();
    }
  });
});
