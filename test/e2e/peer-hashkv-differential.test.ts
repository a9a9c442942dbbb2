/**
 * Differential: the peer port's `GET /members/hashkv` (etcd's hashKVHandler, which the corruption
 * checks call) on one member of Debian's etcd 3.4.23 and of etcd-ts after the same writes: the same
 * status and body for a hash (etcd-ts's HashKV is byte-identical to etcd's for the same history), a
 * future or compacted revision, a malformed body and another method.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { etcdctl } from "../support/etcdctl.js";
import { freePort } from "../support/ports.js";
import { startMember, type Flavor, type MemberProcess } from "../support/launcher.js";

const FLAVORS: Flavor[] = ["etcd", "etcd-ts"];

/** A request with a body whatever the method (etcd's client sends its HashKVRequest in a GET). */
function call(port: number, method: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/members/hashkv", method, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("peer /members/hashkv matches etcd 3.4", { timeout: 90_000 }, () => {
  const members = new Map<Flavor, { m: MemberProcess; peerPort: number }>();
  before(async () => {
    for (const f of FLAVORS) {
      const peerPort = await freePort();
      // --logger=zap: etcd 3.4's handler logs its errors through zap and, under capnslog (3.4's
      // default; etcd-ts is zap only), dereferences a nil logger and drops the connection instead
      const m = await startMember(f, { peerPort, flags: ["--logger=zap"] });
      members.set(f, { m, peerPort });
      for (let i = 0; i < 5; i++) assert.equal((await etcdctl(m.endpoint, ["put", `k${i % 3}`, `v${i}`])).code, 0);
      assert.equal((await etcdctl(m.endpoint, ["compact", "3"])).code, 0);
    }
  });
  after(async () => {
    for (const { m } of members.values()) await m.dispose();
  });

  const cases: [string, string, string][] = [
    ["current revision", "GET", "{}"],
    ["revision 5", "GET", '{"revision":5}'],
    ["revision 4, field name in capitals", "GET", '{"Revision":4}'],
    ["a future revision", "GET", '{"revision":99}'],
    ["a compacted revision", "GET", '{"revision":2}'],
    ["no body", "GET", ""],
    ["revision as a string", "GET", '{"revision":"5"}'],
    ["not an object", "GET", "[1]"],
    ["POST", "POST", "{}"],
  ];
  for (const [what, method, body] of cases) {
    test(what, async () => {
      const got: Record<string, unknown> = {};
      for (const f of FLAVORS) got[f] = await call(members.get(f)!.peerPort, method, body);
      assert.deepEqual(got["etcd-ts"], got.etcd);
    });
  }
});
