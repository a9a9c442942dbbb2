/**
 * Leases and watches on 3 etcd-ts members: followers forward keep-alive and time-to-live to the
 * leader, grants through a follower apply everywhere, watchers on followers see every event once,
 * and leases survive a leader kill -9 (the new leader extends them) and then expire under the new
 * leader, their keys deleted at the same revision on every member. A member that catches up by
 * snapshot gets the snapshot's leases with their keys attached (a revoke then deletes the same keys
 * on it as everywhere else: the members' KV hashes stay equal).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { LocalCluster } from "../../ansible-free-scripts/local/cluster.js";
import { isLeader } from "../../ansible-free-scripts/common/health.js";
import { clientConstructor } from "../../server/pb/grpc-services.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Resp = Record<string, any>;

function client(endpoint: string, service: "KV" | "Lease" | "Watch" | "Maintenance") {
  const Ctor = clientConstructor("etcdserverpb", service);
  return new Ctor(endpoint, grpc.credentials.createInsecure(), { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 500 });
}

function callMaintenance(endpoint: string, method: string, req: object): Promise<Resp> {
  return call(endpoint, "Maintenance", method, req);
}

function call(endpoint: string, service: "KV" | "Lease" | "Maintenance", method: string, req: object, timeoutMs = 5000): Promise<Resp> {
  const c = client(endpoint, service);
  return new Promise((resolve, reject) => {
    (c[method] as (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Resp) => void) => void).call(c, req, { deadline: Date.now() + timeoutMs }, (e, r) => {
      c.close();
      if (e) reject(e);
      else resolve(r);
    });
  });
}

async function waitUntil<T>(f: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(100);
  }
}

describe("leases and watches on 3 etcd-ts members", { timeout: 120_000 }, () => {
  let cluster: LocalCluster;
  const ep = (name: string) => new URL(cluster.members.find((m) => m.name === name)!.clientUrl).host;

  before(async () => {
    cluster = await LocalCluster.up({ insecure: true,
      members: 3,
      server: "etcd-ts",
      name: `lw-${process.pid}`,
      dir: mkdtempSync(join(tmpdir(), "etcd-ts-lease-watch-")),
      heartbeatMs: 100,
      electionMs: 1000,
      // snapshots every 50 entries: the second test makes a member catch up by snapshot
      snapshotCount: 50,
    });
  });
  after(async () => {
    await cluster?.down();
  });

  async function leaderName(exclude: string[] = []): Promise<string> {
    return waitUntil(
      async () => {
        for (const m of cluster.members) if (m.running && !exclude.includes(m.name) && (await isLeader(m.clientUrl, 500))) return m.name;
        return undefined;
      },
      15_000,
      "a leader",
    );
  }

  test("forwarding, follower watchers, and expiry across a leader kill", async () => {
    const leader = await leaderName();
    const [f1, f2] = cluster.members.map((m) => m.name).filter((n) => n !== leader) as [string, string];

    // a watcher on a follower
    const wc = client(ep(f2), "Watch");
    const events: string[] = [];
    const ws = (wc.Watch as () => grpc.ClientDuplexStream<object, Resp>).call(wc);
    ws.on("data", (r: Resp) => {
      for (const e of r.events ?? []) events.push(`${e.type === 1 ? "DELETE" : "PUT"} ${e.kv.key.toString()} @${e.kv.mod_revision}`);
    });
    ws.on("error", () => undefined);
    ws.write({ create_request: { key: Buffer.from("lw/"), range_end: Buffer.from("lw0") } });
    await sleep(300);

    // grant through a follower (raft), attach keys through the other
    const long = await call(ep(f1), "Lease", "LeaseGrant", { TTL: 6 });
    const short = await call(ep(f1), "Lease", "LeaseGrant", { TTL: 3 });
    await call(ep(f2), "KV", "Put", { key: Buffer.from("lw/long"), value: Buffer.from("1"), lease: long.ID });
    await call(ep(f2), "KV", "Put", { key: Buffer.from("lw/short"), value: Buffer.from("1"), lease: short.ID });

    // keep-alive and time-to-live through a follower are answered by the leader
    const kc = client(ep(f1), "Lease");
    const ka = (kc.LeaseKeepAlive as () => grpc.ClientDuplexStream<object, Resp>).call(kc);
    const kaResponses: Resp[] = [];
    ka.on("data", (r: Resp) => kaResponses.push(r));
    ka.on("error", () => undefined);
    ka.write({ ID: long.ID });
    await waitUntil(async () => kaResponses.length === 1, 5000, "a forwarded keep-alive response");
    assert.equal(kaResponses[0]!.TTL, "6");
    const ttl = await call(ep(f2), "Lease", "LeaseTimeToLive", { ID: long.ID, keys: true });
    assert.equal(ttl.grantedTTL, "6");
    assert.ok(Number(ttl.TTL) >= 4 && Number(ttl.TTL) <= 6, `remaining ${ttl.TTL}`);
    assert.deepEqual(ttl.keys.map(String), ["lw/long"]);
    const listed = await call(ep(f2), "Lease", "LeaseLeases", {});
    assert.deepEqual(listed.leases.map((l: Resp) => l.ID).sort(), [long.ID, short.ID].sort());

    // kill -9 the leader; keep the long lease alive through a follower meanwhile
    await cluster.kill(leader);
    const keeper = setInterval(() => ka.write({ ID: long.ID }), 1000);
    try {
      const newLeader = await leaderName([leader]);
      assert.notEqual(newLeader, leader);
      // the short lease was not kept alive: the new leader revokes it (after TTL + election timeout)
      await waitUntil(async () => (await call(ep(f1), "KV", "Range", { key: Buffer.from("lw/short") })).kvs.length === 0, 15_000, "the short lease to expire");
      await sleep(7000); // longer than the long lease's TTL: still there thanks to the forwarded keep-alives
      const r = await call(ep(f1), "KV", "Range", { key: Buffer.from("lw/long") });
      assert.equal(r.kvs.length, 1, "a lease kept alive through a follower survives the leader change");
      assert.ok(kaResponses.slice(-3).every((x) => x.TTL === "6"), JSON.stringify(kaResponses.slice(-3)));
    } finally {
      clearInterval(keeper);
    }
    // stop keeping it alive: it expires
    await waitUntil(async () => (await call(ep(f2), "KV", "Range", { key: Buffer.from("lw/long") })).kvs.length === 0, 15_000, "the long lease to expire");
    await call(ep(f2), "KV", "Put", { key: Buffer.from("lw/end"), value: Buffer.from("1") });
    await waitUntil(async () => events.some((e) => e.startsWith("PUT lw/end")), 5000, "the watcher to see lw/end");
    ka.cancel();
    kc.close();
    ws.cancel();
    wc.close();

    // every event once, in order; both live members agree on the revisions of the deletes
    const names = events.map((e) => e.split(" @")[0]);
    assert.deepEqual(names, ["PUT lw/long", "PUT lw/short", "DELETE lw/short", "DELETE lw/long", "PUT lw/end"]);
    const revs = events.map((e) => Number(e.split("@")[1]));
    assert.deepEqual([...revs].sort((a, b) => a - b), revs);
    const h1 = await call(ep(f1), "KV", "Range", { key: Buffer.from("lw/end") });
    const h2 = await call(ep(f2), "KV", "Range", { key: Buffer.from("lw/end"), serializable: true });
    assert.equal(h1.kvs[0].mod_revision, h2.kvs[0].mod_revision);
    assert.equal(String(revs[4]), h1.kvs[0].mod_revision);
    const leases = await call(ep(f2), "Lease", "LeaseLeases", {});
    assert.deepEqual(leases.leases, []);
  });

  test("a member that catches up by snapshot has the leases and their keys", async () => {
    const down = cluster.members.find((m) => !m.running)!.name; // the leader killed above
    const live = cluster.members.filter((m) => m.running).map((m) => m.name);
    const la = await call(ep(live[0]!), "Lease", "LeaseGrant", { TTL: 300 });
    await call(ep(live[0]!), "KV", "Put", { key: Buffer.from("snap-lease/a"), value: Buffer.from("1"), lease: la.ID });
    await call(ep(live[1]!), "KV", "Put", { key: Buffer.from("snap-lease/b"), value: Buffer.from("1"), lease: la.ID });
    // more than the 5000 entries a leader keeps after its snapshot: the down member needs a snapshot
    let next = 0;
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < 5200 && Date.now() - t0 < 90_000) {
          const i = next++;
          await call(ep(live[i % 2]!), "KV", "Put", { key: Buffer.from(`fill/${i}`), value: Buffer.from("x") }, 10_000);
        }
      }),
    );
    assert.equal(next, 5200);
    await cluster.start(down);
    await cluster.waitHealthy([down], 30_000);
    await waitUntil(
      async () => {
        const r = await call(ep(down), "KV", "Range", { key: Buffer.from("fill/"), range_end: Buffer.from("fill0"), count_only: true, serializable: true });
        return r.count === "5200";
      },
      60_000,
      `${down} to catch up`,
    );
    assert.match(readFileSync(cluster.members.find((m) => m.name === down)!.logFile, "utf8"), /applied snapshot from leader/);
    const leases = await call(ep(down), "Lease", "LeaseLeases", {});
    assert.deepEqual(leases.leases.map((l: Resp) => l.ID), [la.ID]);
    // the revoke deletes the attached keys on every member, the caught-up one included
    await call(ep(live[0]!), "Lease", "LeaseRevoke", { ID: la.ID });
    await call(ep(live[0]!), "KV", "Put", { key: Buffer.from("snap-lease/end"), value: Buffer.from("1") });
    await waitUntil(async () => (await call(ep(down), "KV", "Range", { key: Buffer.from("snap-lease/end"), serializable: true })).kvs.length === 1, 10_000, `${down} to apply the revoke`);
    const left = await call(ep(down), "KV", "Range", { key: Buffer.from("snap-lease/"), range_end: Buffer.from("snap-lease0"), serializable: true });
    assert.deepEqual(left.kvs.map((kv: Resp) => kv.key.toString()), ["snap-lease/end"]);
    const rev = Number(left.header.revision);
    const hashes = await Promise.all(cluster.members.map((m) => callMaintenance(ep(m.name), "HashKV", { revision: rev })));
    assert.equal(new Set(hashes.map((h) => h.hash)).size, 1, JSON.stringify(hashes.map((h) => h.hash)));
  });
});
