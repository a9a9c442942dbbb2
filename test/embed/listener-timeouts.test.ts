/**
 * Connections that never finish what they started are closed, and normal clients are not: each slow or idle case
 * against a SniffingListener with short timeouts. Only "closed eventually, within a generous bound" and "still open
 * well past the timeout" are asserted, never tight timing.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { CLIENT_PREFACE, FrameType } from "../../server/grpcwire/h2/frames.js";
import { RawH2, closedWithin, closesWithin, frame, tcpConnect } from "../support/raw-h2.js";
import { echo, startFixture, testClient, type Fixture } from "./listener-fixture.js";

const SHORT = 300;
/** Generous: a loaded 2-core machine must still make it. */
const BOUND = 8_000;
/** How long a connection that must stay open is watched (several times every timeout). */
const WATCH = 5 * SHORT;

describe("listener timeouts", () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({
      timeouts: { handshakeMs: SHORT, headersMs: SHORT, keepAliveIdleMs: SHORT, bodyMs: SHORT },
      grpc: { idleMs: SHORT * 2 },
    });
  });
  after(() => fx.close());

  test("a connection that sends nothing is closed after the handshake timeout", async () => {
    const s = await tcpConnect(fx.port);
    await closedWithin(s, BOUND);
  });

  test("half an HTTP/2 preface: closed", async () => {
    const s = await tcpConnect(fx.port);
    s.write(CLIENT_PREFACE.subarray(0, 10));
    await closedWithin(s, BOUND);
  });

  test("the HTTP/2 preface without the client's SETTINGS: closed", async () => {
    const s = await tcpConnect(fx.port);
    s.write(CLIENT_PREFACE);
    await closedWithin(s, BOUND);
  });

  test("a first HTTP/1 request line that never ends: closed", async () => {
    const s = await tcpConnect(fx.port);
    s.write("GET / HT");
    await closedWithin(s, BOUND);
  });

  test("slow headers on a kept-alive HTTP/1 connection: closed", async () => {
    const s = await tcpConnect(fx.port);
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString()));
    s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    while (!got.includes("ok")) await new Promise((r) => setTimeout(r, 10));
    s.write("GET / HTTP/1.1\r\n");
    // a header line now and then, each well inside the idle timeout, never the end of the headers
    const drip = setInterval(() => s.write(`X-Drip: ${Date.now()}\r\n`), SHORT / 3);
    try {
      await closedWithin(s, BOUND);
    } finally {
      clearInterval(drip);
    }
  });

  test("an idle kept-alive HTTP/1 connection: closed", async () => {
    const s = await tcpConnect(fx.port);
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString()));
    s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await closedWithin(s, BOUND);
    assert.match(got, /200 OK[\s\S]*ok$/);
  });

  test("a gateway body that stalls: 408, closed", async () => {
    const s = await tcpConnect(fx.port);
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString()));
    s.write("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"key\":");
    await closedWithin(s, BOUND);
    assert.match(got, /^HTTP\/1\.1 408 /);
  });

  test("a streaming route's body may stay open; it is answered when it ends", async () => {
    const s = await tcpConnect(fx.port);
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString()));
    s.write("POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    assert.equal(await closesWithin(s, WATCH), false, "a streaming body was cut");
    s.write("0\r\n\r\n");
    while (!got.includes("read 3")) await new Promise((r) => setTimeout(r, 10));
    s.destroy();
  });

  test("an HTTP/2 connection with no stream: GOAWAY, closed", async () => {
    const c = await RawH2.open(fx.port);
    await closedWithin(c.socket, BOUND);
    assert.equal(c.goaway?.code, 0);
  });

  test("a request's header block that never ends (no END_HEADERS): closed", async () => {
    const c = await RawH2.open(fx.port);
    // :method POST, :scheme http, then nothing more: no END_HEADERS, no CONTINUATION
    c.write(frame(FrameType.HEADERS, 0, 1, Buffer.from([0x83, 0x86])));
    await closedWithin(c.socket, BOUND);
  });

  test("a long-lived stream keeps its connection well past the idle timeout; normal calls are unaffected", async () => {
    const client = testClient(fx.port);
    try {
      assert.equal(await echo(client, "one"), "one");
      const held = client.hold(Buffer.alloc(0));
      const messages: string[] = [];
      let ended: unknown;
      held.on("data", (b: Buffer) => messages.push(b.toString()));
      held.on("error", (e) => (ended = e));
      held.on("end", () => (ended = "end"));
      await new Promise((r) => setTimeout(r, WATCH));
      assert.deepEqual(messages, ["held"]);
      assert.equal(ended, undefined, "the stream was ended");
      assert.equal(await echo(client, "two"), "two");
      held.cancel();
    } finally {
      client.close();
    }
  });

  test("HTTP/1 clients with complete requests are unaffected", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`http://127.0.0.1:${fx.port}/body`, { method: "POST", body: "x".repeat(1000) });
      assert.equal(await r.text(), "read 1000");
    }
  });
});

describe("listener timeouts: a raw HTTP/2 client without the listener's help", () => {
  test("an HTTP/2 PING before SETTINGS does not count as the handshake", async () => {
    const fx = await startFixture({ timeouts: { handshakeMs: SHORT } });
    try {
      const c = await RawH2.open(fx.port, { preface: false });
      c.write(Buffer.concat([CLIENT_PREFACE, frame(FrameType.PING, 0, 0, Buffer.alloc(8))]));
      await closedWithin(c.socket, BOUND);
      const ok = await RawH2.open(fx.port);
      assert.equal(await closesWithin(ok.socket, WATCH), false, "a client that sent its SETTINGS was closed");
      ok.close();
    } finally {
      await fx.close();
    }
  });

  test("Node's http2 client opening a session and a request is served", async () => {
    const fx = await startFixture({ timeouts: { handshakeMs: SHORT } });
    try {
      const s = http2.connect(`http://127.0.0.1:${fx.port}`);
      const req = s.request({ ":method": "POST", ":path": "/test.T/Echo", "content-type": "application/grpc", te: "trailers" });
      req.end(Buffer.from([0, 0, 0, 0, 2, 0x68, 0x69]));
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      await new Promise((r) => req.on("end", r));
      assert.equal(Buffer.concat(chunks).subarray(5).toString(), "hi");
      s.close();
    } finally {
      await fx.close();
    }
  });
});
