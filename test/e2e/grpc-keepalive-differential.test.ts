/**
 * --grpc-keepalive-min-time, -interval and -timeout against Debian's etcd 3.4, seen from raw HTTP/2 clients: the
 * same GOAWAY for a client that pings too often, server PINGs on an idle connection, and the close of a connection
 * that does not answer them. Bounds are generous; nothing asserts a precise time.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { startMember, type Flavor, type MemberProcess } from "../support/launcher.js";
import { RawH2, closesWithin, pingFrame } from "../support/raw-h2.js";

const FLAGS = ["--grpc-keepalive-min-time=1s", "--grpc-keepalive-interval=1s", "--grpc-keepalive-timeout=1s"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const portOf = (m: MemberProcess) => Number(m.endpoint.split(":")[1]);

/** Pings with no stream open until the server sends GOAWAY or closes: what it sent. */
async function pingWithoutStreams(m: MemberProcess): Promise<{ code: number; debug: string } | undefined> {
  const c = await RawH2.open(portOf(m));
  try {
    for (let i = 0; i < 20 && !c.socket.destroyed && !c.goaway; i++) {
      c.write(pingFrame(i));
      await sleep(50);
    }
    await closesWithin(c.socket, 5_000);
    return c.goaway;
  } finally {
    c.close();
  }
}

/** A Watch stream left open (no request on it), and PINGs every `everyMs`: GOAWAY's code, or "none" after `count` pings. */
async function pingWithWatch(m: MemberProcess, everyMs: number, count: number): Promise<number | "none"> {
  const s = http2.connect(`http://${m.endpoint}`);
  s.on("error", () => undefined);
  let away: number | undefined;
  s.on("goaway", (code: number) => (away ??= code));
  const watch = s.request({ ":method": "POST", ":path": "/etcdserverpb.Watch/Watch", "content-type": "application/grpc", te: "trailers" });
  watch.on("error", () => undefined);
  try {
    await sleep(200);
    for (let i = 0; i < count && away === undefined && !s.destroyed; i++) {
      s.ping(() => undefined);
      await sleep(everyMs);
    }
    await sleep(300);
    return away ?? "none";
  } finally {
    s.destroy();
  }
}

describe("gRPC keepalive flags, against etcd", () => {
  const members: MemberProcess[] = [];
  let pair: Record<Flavor, MemberProcess>;
  before(async () => {
    // one at a time, each recorded at once: a failed start leaves nothing running behind
    for (const flavor of ["etcd", "etcd-ts"] as const) members.push(await startMember(flavor, { flags: FLAGS }));
    pair = { etcd: members[0]!, "etcd-ts": members[1]! };
  });
  after(async () => {
    await Promise.all(members.map((m) => m.dispose()));
  });

  const both = async <T>(f: (m: MemberProcess) => Promise<T>) => ({ etcd: await f(pair.etcd), "etcd-ts": await f(pair["etcd-ts"]) });

  test("pings without a stream: GOAWAY ENHANCE_YOUR_CALM too_many_pings", async () => {
    const r = await both(pingWithoutStreams);
    assert.deepEqual(r["etcd-ts"], { code: 0xb, debug: "too_many_pings" });
    assert.deepEqual(r["etcd-ts"], r.etcd);
  });

  test("with a stream open: pings faster than --grpc-keepalive-min-time get GOAWAY, slower ones do not", async () => {
    const fast = await both((m) => pingWithWatch(m, 50, 20));
    assert.deepEqual(fast, { etcd: 0xb, "etcd-ts": 0xb });
    const slow = await both((m) => pingWithWatch(m, 1_500, 4));
    assert.deepEqual(slow, { etcd: "none", "etcd-ts": "none" });
  });

  test("an idle connection gets the server's PINGs (--grpc-keepalive-interval) and stays while it answers", async () => {
    const r = await both(async (m) => {
      const c = await RawH2.open(portOf(m));
      try {
        await c.until(() => c.serverPings >= 1, "a server PING", 30_000);
        return { pinged: true, open: !c.socket.destroyed };
      } finally {
        c.close();
      }
    });
    assert.deepEqual(r, { etcd: { pinged: true, open: true }, "etcd-ts": { pinged: true, open: true } });
  });

  test("a connection that does not answer is closed (--grpc-keepalive-timeout)", async () => {
    const r = await both(async (m) => {
      const c = await RawH2.open(portOf(m), { answerPings: false });
      try {
        await c.until(() => c.serverPings >= 1, "a server PING", 30_000);
        return closesWithin(c.socket, 30_000);
      } finally {
        c.close();
      }
    });
    assert.deepEqual(r, { etcd: true, "etcd-ts": true });
  });
});
