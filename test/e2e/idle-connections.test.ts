/**
 * The case: a member with a low file limit, hundreds of idle connections piled up on its client and peer
 * ports (silent TCP, HTTP/2 prefaces without a request, kept-alive HTTP/1), and /health, etcdctl and the peer
 * port still answer: each listener's connection limit sits below the file limit and closes the longest-idle
 * connection to admit a new one, with one rate-limited log line. (etcd 3.4 itself stops accepting at its limit,
 * so this is not a differential test; see the README.)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import type { Socket } from "node:net";
import { CLIENT_PREFACE } from "../../server/grpcwire/h2/frames.js";
import { startMember, type MemberProcess } from "../support/launcher.js";
import { etcdctl } from "../support/etcdctl.js";
import { freePort } from "../support/ports.js";
import { SETTINGS, tcpConnect } from "../support/raw-h2.js";

const FILE_LIMIT = 256;
const IDLE = 400;

async function pileUp(port: number, n: number): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const s = await tcpConnect(port);
      if (i % 3 === 1) s.write(Buffer.concat([CLIENT_PREFACE, SETTINGS]));
      if (i % 3 === 2) s.write("GET /version HTTP/1.1\r\nHost: x\r\n\r\n");
      out.push(s);
    } catch {
      /* refused under load: still a pile-up */
    }
  }
  return out;
}

/** A GET on a connection of its own (fetch would reuse one kept alive from before the pile-up). */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

describe(`idle connections on a member limited to ${FILE_LIMIT} files`, () => {
  let m: MemberProcess;
  let peerPort: number;
  const piles: Socket[] = [];
  before(async () => {
    peerPort = await freePort();
    m = await startMember("etcd-ts", { peerPort, prefix: ["prlimit", `--nofile=${FILE_LIMIT}:${FILE_LIMIT}`, "--"] });
  });
  after(async () => {
    for (const s of piles) s.destroy();
    await m?.dispose();
  });

  test("the limit is really in force for the member", () => {
    assert.equal(fileLimitOf(m.child.pid!), FILE_LIMIT);
  });

  test("/health and etcdctl still answer with hundreds of idle client connections", async () => {
    piles.push(...(await pileUp(Number(m.endpoint.split(":")[1]), IDLE)));
    for (let i = 0; i < 5; i++) assert.deepEqual(await get(`${m.clientUrl}/health`), { status: 200, body: '{"health":"true","reason":""}' });
    const put = await etcdctl(m.endpoint, ["put", "k", "v"]);
    assert.equal(put.stdout.trim(), "OK", put.stderr);
    const lines = m.log().split("\n").filter((l) => l.includes("connection limit reached"));
    assert.ok(lines.length >= 1, "no log line about the limit");
    assert.ok(lines.length <= 3, `the limit line is not rate-limited: ${lines.length} lines`);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(first.listener, "client");
    assert.equal(first.level, "warn");
  });

  test("the peer port answers with hundreds of idle connections on it", async () => {
    piles.push(...(await pileUp(peerPort, IDLE)));
    const r = await get(`http://127.0.0.1:${peerPort}/members`);
    assert.equal(r.status, 200);
    assert.match(r.body, /"name":"m1"/);
    assert.deepEqual(await get(`${m.clientUrl}/health`), { status: 200, body: '{"health":"true","reason":""}' });
  });
});

/** The member's soft limit on open files, from /proc (prlimit execs the member: same pid). */
function fileLimitOf(pid: number): number {
  return Number(/^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"))?.[1]);
}
