/**
 * etcd's --grpc-keepalive-* semantics on a listener: a client pinging more often than min-time (or at all, with no
 * stream open) gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings"; pings that follow the server's data never count;
 * the server pings idle connections every interval and closes those that do not answer within the timeout.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { PingStrikes } from "../../server/embed/keepalive-enforcement.js";
import { grpcKeepaliveOf, GRPC_DEFAULT_MIN_TIME_MS, GRPC_DEFAULT_PING_INTERVAL_MS, GRPC_DEFAULT_PING_TIMEOUT_MS } from "../../server/embed/grpc-keepalive.js";
import { RawH2, closedWithin, closesWithin, pingFrame } from "../support/raw-h2.js";
import { startFixture } from "./listener-fixture.js";

const BOUND = 8_000;
const ENHANCE_YOUR_CALM = 0xb;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A gRPC request on a Node http2 session: the unary echo, or the server stream that stays open. */
function call(s: http2.ClientHttp2Session, path: "/test.T/Echo" | "/test.T/Hold"): http2.ClientHttp2Stream {
  const req = s.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
  req.on("error", () => undefined);
  req.end(Buffer.from([0, 0, 0, 0, 2, 0x68, 0x69]));
  return req;
}

function goawayOf(s: http2.ClientHttp2Session): Promise<{ code: number; debug: string } | undefined> {
  return new Promise((resolve) => {
    s.once("goaway", (code: number, _last: number, data?: Buffer) => resolve({ code, debug: data?.toString() ?? "" }));
    s.once("close", () => resolve(undefined));
  });
}

describe("keepalive enforcement (--grpc-keepalive-min-time)", () => {
  test("pings with no stream open: GOAWAY ENHANCE_YOUR_CALM too_many_pings on the third strike", async () => {
    const fx = await startFixture({ keepalive: { minTimeMs: 5_000, permitWithoutStream: false } });
    try {
      const c = await RawH2.open(fx.port);
      for (let i = 0; i < 10 && !c.socket.destroyed; i++) {
        c.write(pingFrame(i));
        await sleep(30);
      }
      await closedWithin(c.socket, BOUND);
      assert.deepEqual(c.goaway, { code: ENHANCE_YOUR_CALM, debug: "too_many_pings" });
    } finally {
      await fx.close();
    }
  });

  test("with a stream open: pings faster than min-time are refused, slower ones are fine", async () => {
    const fx = await startFixture({ keepalive: { minTimeMs: 100, permitWithoutStream: false } });
    try {
      const fast = http2.connect(`http://127.0.0.1:${fx.port}`);
      fast.on("error", () => undefined);
      const goaway = goawayOf(fast);
      call(fast, "/test.T/Hold");
      await sleep(100);
      const pinger = setInterval(() => fast.ping(() => undefined), 5);
      try {
        assert.deepEqual(await goaway, { code: ENHANCE_YOUR_CALM, debug: "too_many_pings" });
      } finally {
        clearInterval(pinger);
        fast.destroy();
      }

      const slow = http2.connect(`http://127.0.0.1:${fx.port}`);
      let away = false;
      slow.on("goaway", () => (away = true));
      slow.on("error", () => undefined);
      const held = call(slow, "/test.T/Hold");
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => slow.ping(r));
        await sleep(600);
      }
      assert.equal(away, false, "a client pinging slower than min-time got GOAWAY");
      assert.equal(held.closed, false);
      slow.destroy();
    } finally {
      await fx.close();
    }
  });

  test("pings right after the server's responses never count (grpc-go's BDP pings)", async () => {
    const fx = await startFixture({ keepalive: { minTimeMs: 5_000, permitWithoutStream: false } });
    try {
      const s = http2.connect(`http://127.0.0.1:${fx.port}`);
      s.on("error", () => undefined);
      let away = false;
      s.on("goaway", () => (away = true));
      for (let i = 0; i < 20; i++) {
        const req = call(s, "/test.T/Echo");
        req.resume();
        await new Promise((r) => req.on("close", r));
        await new Promise((r) => s.ping(r));
      }
      assert.equal(away, false);
      assert.equal(s.destroyed, false);
      s.destroy();
    } finally {
      await fx.close();
    }
  });
});

describe("server keepalive pings (--grpc-keepalive-interval/-timeout)", () => {
  test("an idle connection is pinged every interval; one that answers stays", async () => {
    const fx = await startFixture({ grpc: { pingIntervalMs: 200, pingTimeoutMs: 2_000 } });
    try {
      const c = await RawH2.open(fx.port);
      await c.until(() => c.serverPings >= 3, "three server PINGs", BOUND);
      assert.equal(c.socket.destroyed, false);
      c.close();
    } finally {
      await fx.close();
    }
  });

  test("a connection that does not answer the server's PING is closed after the timeout", async () => {
    const fx = await startFixture({ grpc: { pingIntervalMs: 200, pingTimeoutMs: 300 } });
    try {
      const c = await RawH2.open(fx.port, { answerPings: false });
      await c.until(() => c.serverPings >= 1, "a server PING", BOUND);
      await closedWithin(c.socket, BOUND);
      const answering = await RawH2.open(fx.port);
      assert.equal(await closesWithin(answering.socket, 1_500), false, "a client answering PINGs was closed");
      answering.close();
    } finally {
      await fx.close();
    }
  });
});

describe("keepalive settings", () => {
  test("etcd's reading of the flags: 0 leaves gRPC's defaults", () => {
    assert.deepEqual(grpcKeepaliveOf({ grpcKeepAliveMinTimeMs: 5_000, grpcKeepAliveIntervalMs: 7_200_000, grpcKeepAliveTimeoutMs: 20_000 }), {
      policy: { minTimeMs: 5_000, permitWithoutStream: false },
      pingIntervalMs: 7_200_000,
      pingTimeoutMs: 20_000,
    });
    const zeros = grpcKeepaliveOf({ grpcKeepAliveMinTimeMs: 0, grpcKeepAliveIntervalMs: 1_000, grpcKeepAliveTimeoutMs: 0 });
    assert.deepEqual(zeros, {
      policy: { minTimeMs: GRPC_DEFAULT_MIN_TIME_MS, permitWithoutStream: false },
      pingIntervalMs: GRPC_DEFAULT_PING_INTERVAL_MS,
      pingTimeoutMs: GRPC_DEFAULT_PING_TIMEOUT_MS,
    });
  });

  test("PingStrikes follows grpc-go's handlePing", () => {
    const p = new PingStrikes({ minTimeMs: 1_000, permitWithoutStream: false });
    // first ping never strikes; then three within min-time with a stream open: GOAWAY on the third strike
    assert.equal(p.onPing(0, 1, false), false);
    assert.equal(p.onPing(100, 1, false), false);
    assert.equal(p.onPing(200, 1, false), false);
    assert.equal(p.onPing(300, 1, true), false); // the server wrote: strikes cleared
    assert.equal(p.onPing(400, 1, false), false);
    assert.equal(p.onPing(500, 1, false), false);
    assert.equal(p.onPing(2_000, 1, false), false); // after min-time: no strike
    assert.equal(p.onPing(2_100, 1, false), true);
    const idle = new PingStrikes({ minTimeMs: 1_000, permitWithoutStream: false });
    // no stream: anything under two hours strikes
    assert.equal(idle.onPing(0, 0, false), false);
    assert.equal(idle.onPing(60_000, 0, false), false);
    assert.equal(idle.onPing(120_000, 0, false), false);
    assert.equal(idle.onPing(180_000, 0, false), true);
    const permitted = new PingStrikes({ minTimeMs: 1_000, permitWithoutStream: true });
    for (let t = 0; t < 10; t++) assert.equal(permitted.onPing(t * 2_000, 0, false), false);
  });
});
