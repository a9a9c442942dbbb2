/**
 * A listener at its connection limit closes the connection idle the longest to admit a new one (so idle
 * connections piling up never lock out a /health probe), refuses only when every connection is busy, and says so
 * in one rate-limited log line.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { ConnectionGuard } from "../../server/embed/connection-guard.js";
import { RawH2, closesWithin, tcpConnect } from "../support/raw-h2.js";
import { echo, startFixture, testClient } from "./listener-fixture.js";

const BOUND = 8_000;
const limitLines = (logs: Array<Record<string, unknown>>) => logs.filter((l) => String(l.msg).startsWith("connection limit reached"));

/** One request on a new connection of its own (fetch would reuse a kept-alive one). */
async function httpGet(port: number, path = "/"): Promise<string> {
  const s = await tcpConnect(port);
  let got = "";
  s.on("data", (d: Buffer) => (got += d.toString()));
  s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.equal(await closesWithin(s, BOUND), true, "no response");
  return got.slice(got.indexOf("\r\n\r\n") + 4);
}

describe("connection limit", () => {
  test("idle connections at the limit make room for a new client, oldest first, with one log line", async () => {
    const fx = await startFixture({ connectionLimit: 4 });
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) idle.push(await tcpConnect(fx.port));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await httpGet(fx.port), "ok"); // takes the oldest one's place, then leaves (Connection: close)
      idle.push(await tcpConnect(fx.port)); // at the limit again
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await httpGet(fx.port), "ok");
      assert.deepEqual(await Promise.all(idle.map((s) => closesWithin(s, 500))), [true, true, false, false, false]);
      assert.equal(limitLines(fx.logs).length, 1, JSON.stringify(fx.logs));
      const line = limitLines(fx.logs)[0]!;
      assert.equal(line.listener, "client");
      assert.equal(line.limit, 4);
      assert.equal(line.level, 40);
    } finally {
      for (const s of idle) s.destroy();
      await fx.close();
    }
  });

  test("HTTP/2 connections without streams count as idle; one carrying a stream is kept", async () => {
    const fx = await startFixture({ connectionLimit: 3 });
    const client = testClient(fx.port);
    const raws: RawH2[] = [];
    try {
      const held = client.hold(Buffer.alloc(0));
      await new Promise((r) => held.once("data", r));
      held.on("error", () => undefined);
      const openRaw = async () => {
        const c = await RawH2.open(fx.port);
        await c.until(() => c.frames.length >= 2, "the server's SETTINGS");
        raws.push(c);
      };
      await openRaw();
      await openRaw();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await httpGet(fx.port), "ok");
      await openRaw();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await httpGet(fx.port), "ok");
      assert.deepEqual(await Promise.all(raws.map((c) => closesWithin(c.socket, 500))), [true, true, false]);
      // the streaming connection survived both evictions and still serves calls
      assert.equal(await echo(client, "still here"), "still here");
      held.cancel();
    } finally {
      for (const c of raws) c.close();
      client.close();
      await fx.close();
    }
  });

  test("when every connection is busy a new one is refused, and that is logged", async () => {
    const fx = await startFixture({ connectionLimit: 2 });
    try {
      const hanging = [fetch(`http://127.0.0.1:${fx.port}/hang`), fetch(`http://127.0.0.1:${fx.port}/hang`)];
      while (fx.listener.connections < 2) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100));
      const s = await tcpConnect(fx.port);
      assert.equal(await closesWithin(s, BOUND), true);
      assert.match(String(limitLines(fx.logs)[0]?.msg), /every connection is busy/);
      fx.releaseHanging();
      assert.deepEqual(await Promise.all(hanging.map(async (p) => (await p).text())), ["released", "released"]);
    } finally {
      await fx.close();
    }
  });
});

describe("ConnectionGuard", () => {
  test("eviction order: handshaking before idle, longest idle first; busy never", () => {
    const fake = () => {
      const s = { destroyed: false, once: () => s, destroy: () => ((s.destroyed = true), s) };
      return s as unknown as Socket & { destroyed: boolean };
    };
    const g = new ConnectionGuard(3, 60_000, { listener: "t", address: "x" }, undefined);
    const [a, b, c] = [fake(), fake(), fake()];
    const ca = g.admit(a)!;
    const cb = g.admit(b)!;
    const cc = g.admit(c)!;
    cb.handshakeDone(); // idle
    ca.handshakeDone(); // idle, after b
    cc.handshakeDone();
    cc.begin(); // busy
    const d = fake();
    g.admit(d); // d is handshaking; evicts b (idle longest)
    assert.deepEqual([a.destroyed, b.destroyed, c.destroyed], [false, true, false]);
    const e = fake();
    g.admit(e); // evicts d (handshaking goes first)
    assert.equal(d.destroyed, true);
    g.of(e)!.begin();
    ca.begin(); // now all three busy
    const f = fake();
    assert.equal(g.admit(f), undefined);
    assert.equal(f.destroyed, true);
    assert.equal(g.refused, 1);
    assert.equal(g.evicted, 2);
    for (const s of [a, b, c, d, e]) s.destroy();
  });
});
