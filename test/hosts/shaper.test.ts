/**
 * The link shaper (ansible-free-scripts/hosts/shaper.ts): its schedule on a fake clock (delay,
 * bandwidth serialisation, jitter without reordering, loss as a retransmission stall, the set-up
 * round trip), and the real proxy on 127.0.0.1: a round trip takes the two delays, bytes arrive in
 * order and complete, a half-close travels behind the data, a failed dial resets the client, and a
 * receiver that does not read stalls the sender instead of filling the shaper's memory.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { linkConditions, NO_SHAPING } from "../../ansible-free-scripts/hosts/link-conditions.js";
import { LinkShaper, MIN_RTO_MS, SEGMENT_BYTES, ShapedDirection, type ShaperRoute } from "../../ansible-free-scripts/hosts/shaper.js";
import { mulberry32 } from "../support/prng.js";

/** A direction over fake sockets: only its schedule (releaseTime) is exercised. */
function direction(cond: ReturnType<typeof linkConditions>, reverse = NO_SHAPING, rand = mulberry32(7), notBefore = 0): ShapedDirection {
  const fake = () => Object.assign(new EventEmitter(), { pause() {}, resume() {}, write: () => true, end() {}, resetAndDestroy() {}, destroyed: false }) as unknown as Socket;
  return new ShapedDirection(fake(), fake(), cond, reverse, rand, notBefore, 4 << 20, () => 0);
}

test("schedule: delay, bandwidth serialisation, jitter within bounds and in order, set-up round trip", () => {
  const d = direction(linkConditions({ delay: "20ms" }));
  assert.equal(d.releaseTime(100, 0), 20);
  assert.equal(d.releaseTime(100, 5), 25);

  // 8 mbit/s = 8 bits per µs: 1000 bytes take 1 ms on the wire, then the delay.
  const bw = direction(linkConditions({ delay: "10ms", bandwidth: "8mbit" }));
  assert.equal(bw.releaseTime(1000, 0), 11);
  assert.equal(bw.releaseTime(1000, 0), 12, "queued behind the first on the wire");
  assert.equal(bw.releaseTime(1000, 50), 61, "an idle wire starts at once");

  const j = direction(linkConditions({ delay: "20ms", jitter: "5ms" }), NO_SHAPING, mulberry32(1));
  let last = 0;
  const delays: number[] = [];
  for (let t = 0; t < 40_000; t += 20) {
    const at = j.releaseTime(10, t);
    assert.ok(at >= last, "never reorders");
    assert.ok(at - t <= 25 + 1e-9, `at most delay + jitter (${at - t})`);
    delays.push(at - t);
    last = at;
  }
  assert.ok(Math.min(...delays) < 16, "jitter does shorten some delays");

  const setup = direction(linkConditions({ delay: "5ms" }), NO_SHAPING, mulberry32(1), 40);
  assert.equal(setup.releaseTime(10, 0), 40, "no byte before the handshake's round trip");
});

test("schedule: a lost segment costs one retransmission timeout (round trip + 200 ms) and holds what follows", () => {
  const lossy = direction(linkConditions({ delay: "10ms", loss: "50%" }), linkConditions({ delay: "30ms" }), mulberry32(3));
  const rto = 10 + 30 + MIN_RTO_MS;
  const times = Array.from({ length: 400 }, (_, i) => lossy.releaseTime(SEGMENT_BYTES, i * 10_000) - i * 10_000);
  const stalled = times.filter((x) => x >= 10 + rto);
  assert.ok(stalled.length > 120 && stalled.length < 280, `about half the segments stalled (${stalled.length}/400)`);
  assert.ok(times.every((x) => x === 10 || (x - 10) % rto === 0), "every delay is the link's plus whole timeouts");
  const none = direction(linkConditions({ delay: "10ms" }));
  assert.equal(none.releaseTime(100 * SEGMENT_BYTES, 0), 10, "no loss, no stall");
});

function echoServer(): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer({ allowHalfOpen: true }, (c) => {
      c.on("data", (b) => c.write(b));
      c.on("end", () => c.end());
      c.on("error", () => undefined);
    });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}

async function shaperTo(port: number, up: ShaperRoute["up"], down: ShaperRoute["down"]): Promise<{ shaper: LinkShaper; port: number }> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const free = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const shaper = new LinkShaper([{ listenHost: "127.0.0.1", listenPort: free, targetHost: "127.0.0.1", targetPort: port, up, down, name: "t" }]);
  await shaper.listen();
  return { shaper, port: free };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

test("proxy: round trips take both delays, bytes arrive complete and in order, the FIN follows the data", async () => {
  const echo = await echoServer();
  const { shaper, port } = await shaperTo((echo.address() as AddressInfo).port, linkConditions({ delay: "30ms" }), linkConditions({ delay: "10ms" }));
  try {
    const s = await open(port);
    let got = Buffer.alloc(0);
    s.on("data", (b: Buffer) => (got = Buffer.concat([got, b])));
    const rtts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const want = got.length + 3;
      s.write(`p${i}.`);
      while (got.length < want) await new Promise((r) => setTimeout(r, 1));
      rtts.push(performance.now() - t);
    }
    assert.ok(rtts.slice(1).every((x) => x >= 39.5), `every round trip at least 30 + 10 ms: ${rtts.map((x) => x.toFixed(1)).join(", ")}`);
    const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const ended = new Promise<void>((r) => s.once("end", () => r()));
    const before = got.length;
    s.end(big);
    await ended;
    assert.equal(got.length - before, big.length, "every byte echoed, then the FIN");
    assert.ok(got.subarray(before).equals(big), "in order");
  } finally {
    await shaper.close();
    echo.close();
  }
});

test("proxy: a dial that fails resets the client; a receiver that does not read stalls the sender", async () => {
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, "127.0.0.1", () => r()));
  const deadPort = (dead.address() as AddressInfo).port;
  await new Promise<void>((r) => dead.close(() => r()));
  const refused = await shaperTo(deadPort, NO_SHAPING, NO_SHAPING);
  try {
    const s = await open(refused.port);
    const closed = await new Promise<string>((r) => {
      s.once("close", () => r("closed"));
      s.once("error", () => undefined);
      setTimeout(() => r("still open"), 5000);
    });
    assert.equal(closed, "closed");
    assert.equal(refused.shaper.stats.failedConnects, 1);
  } finally {
    await refused.shaper.close();
  }

  // A server that accepts and never reads.
  const held: Socket[] = [];
  const sink = createServer((c) => {
    c.pause();
    held.push(c);
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
  const { shaper, port } = await shaperTo((sink.address() as AddressInfo).port, NO_SHAPING, NO_SHAPING);
  try {
    const s = await open(port);
    const chunk = Buffer.alloc(64 * 1024);
    let written = 0;
    // Write until the socket itself pushes back, for at most 64 MiB.
    while (written < 64 << 20) {
      written += chunk.length;
      if (!s.write(chunk)) {
        const drained = await Promise.race([new Promise((r) => s.once("drain", () => r(true))), new Promise((r) => setTimeout(() => r(false), 1500))]);
        if (!drained) break;
      }
    }
    assert.ok(written < 64 << 20, `the sender was stalled (${written >> 20} MiB accepted)`);
    assert.ok(written < 40 << 20, `the shaper holds a bounded amount (${written >> 20} MiB accepted)`);
    s.destroy();
  } finally {
    for (const c of held) c.destroy();
    await shaper.close();
    sink.close();
  }
});
