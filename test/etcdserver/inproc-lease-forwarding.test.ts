/**
 * Lease requests made to a follower, on three in-process members (test/support/inproc/): the
 * request layer's Lease service (requests/lease.ts, as gRPC serves it) forwards keep-alive and
 * time-to-live to the leader's lessor over its leader link (in memory here, gRPC in a process) and
 * retries on the member's clock; a revoke goes through raft. Then the leader's wait for its applied
 * index (ServerLeases.waitApplied) timing out on the manual clock. Every bound is in ticks.
 */
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { InprocCluster, type InprocMember } from "../support/inproc/cluster.js";
import { get, grantLease, put } from "../support/inproc/requests.js";
import { requestContext } from "../../server/etcdserver/requests/context.js";
import { ErrTimeout, ErrTimeoutWaitAppliedIndex } from "../../server/pb/errors.js";

const TTL_S = 5;
/** Ticks in `s` seconds (a tick is one 100 ms heartbeat). */
const secs = (s: number) => Math.round((s * 1000) / 100);
const ctx = () => requestContext();
/** An outcome for a failure message (bigints as text). */
const show = (o: unknown) => JSON.stringify(o, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

describe("in-process cluster of 3: lease requests to a follower reach the leader", { timeout: 180_000 }, () => {
  let c: InprocCluster | undefined;
  afterEach(async () => {
    await c?.stop();
    c = undefined;
  });

  async function start(electionMs = 1000): Promise<InprocCluster> {
    c = await InprocCluster.start({ size: 3, electionMs });
    return c;
  }

  async function leasedKey(c: InprocCluster, leader: InprocMember, ttl = TTL_S): Promise<bigint> {
    const granted = await c.outcome(grantLease(leader.server, ttl), 5);
    assert.equal(granted.state, "fulfilled");
    const id = (granted as { value: { id: bigint } }).value.id;
    assert.equal((await c.outcome(put(leader.server, "leased", "v", id), 5)).state, "fulfilled");
    return id;
  }

  const hasLease = (m: InprocMember, id: bigint) => m.server.leases.list().some((l) => l.id === id);

  test("a keep-alive sent to a follower renews the lease on the leader: it outlives its TTL", async () => {
    const c = await start();
    const leader = c.leader()!;
    const [f] = c.followers() as [InprocMember];
    const id = await leasedKey(c, leader);
    for (let i = 0; i < 4; i++) {
      await c.tick(secs(TTL_S / 2));
      const r = await c.outcome(f.leases.keepAlive(ctx(), { ID: id.toString() }), 3);
      assert.equal(r.state, "fulfilled", `keep-alive ${i} answered`);
      assert.equal((r as { value: { TTL: number } }).value.TTL, TTL_S, "the leader's TTL for the lease");
    }
    assert.equal(f.leaderLinks.length, 1, "the follower opened one link, to the leader");
    assert.ok(f.leaderLinks[0]!.clientUrl === leader.config.advertiseClientUrls[0] && f.leaderLinks[0]!.sent >= 4);
    // 10 s after the grant, kept alive only through the follower
    for (const m of c.members) assert.ok(hasLease(m, id), `${m.name} still has the lease`);
    const ttl = await c.outcome(leader.server.leases.timeToLive(id, false), 3);
    assert.ok((ttl as { value: { ttl: number } }).value.ttl >= TTL_S - 1, "the leader's lessor counts from the last keep-alive");
    await c.until(() => c.members.every((m) => !hasLease(m, id)), secs(TTL_S) + 10, "expires a TTL after the last keep-alive");
  });

  test("time-to-live asked of a follower is the leader's answer (remaining TTL, granted TTL, keys); an unknown lease: TTL -1", async () => {
    const c = await start();
    const leader = c.leader()!;
    const [f] = c.followers() as [InprocMember];
    const id = await leasedKey(c, leader);
    await c.tick(secs(2));
    const r = await c.outcome(f.leases.timeToLive(ctx(), { ID: id.toString(), keys: true }), 3);
    assert.equal(r.state, "fulfilled");
    const v = (r as { value: { TTL: number; grantedTTL: number; keys: Buffer[] } }).value;
    assert.equal(v.TTL, TTL_S - 2, "remaining by the leader's clock: granted 2 s ago");
    assert.equal(v.grantedTTL, TTL_S);
    assert.deepEqual(
      v.keys.map((k) => Buffer.from(k).toString()),
      ["leased"],
    );
    const unknown = await c.outcome(f.leases.timeToLive(ctx(), { ID: "12345", keys: false }), 3);
    assert.equal((unknown as { value: { TTL: number } }).value.TTL, -1);
    const ka = await c.outcome(f.leases.keepAlive(ctx(), { ID: "12345" }), 3);
    assert.equal((ka as { value: { TTL: number } }).value.TTL, 0, "a keep-alive of an unknown lease: TTL 0, as etcd");
  });

  test("a revoke sent to a follower goes through raft: the lease and its key are gone on every member at one revision", async () => {
    const c = await start();
    const leader = c.leader()!;
    const [f] = c.followers() as [InprocMember];
    const id = await leasedKey(c, leader);
    const revBefore = leader.server.header().revision;
    const r = await c.outcome(f.leases.revoke(ctx(), { ID: id.toString() }), 5);
    assert.equal(r.state, "fulfilled");
    await c.settle();
    for (const m of c.members) {
      assert.ok(!hasLease(m, id), `${m.name} dropped the lease`);
      assert.equal((await get(m.server, "leased", true)).value, undefined);
      assert.equal(m.server.header().revision, revBefore + 1, `${m.name}: one revision for the revoke`);
    }
  });

  test("a follower that cannot reach the leader retries on its clock and answers ErrTimeout at the request timeout, not before; healed, it renews", async () => {
    const c = await start();
    const leader = c.leader()!;
    const [f] = c.followers() as [InprocMember];
    const id = await leasedKey(c, leader, 60);
    // f's requests and raft messages to the leader are lost; it still hears the leader (no election)
    c.net.cutOneWay(f.id, leader.id);
    const ka = f.leases.keepAlive(ctx(), { ID: id.toString() });
    const early = await c.outcome(ka, c.requestTimeoutTicks - 1);
    assert.equal(early.state, "pending", "still retrying before the request timeout");
    assert.ok(f.leaderLinks[0]!.sent >= 2, `retried (${f.leaderLinks[0]!.sent} attempts)`);
    const late = await c.outcome(ka, 2);
    assert.equal(late.state, "rejected", show(late));
    assert.equal((late as { error: unknown }).error, ErrTimeout);
    assert.equal(f.server.leader(), leader.id, "the leader did not change");
    c.net.heal();
    const again = await c.outcome(f.leases.keepAlive(ctx(), { ID: id.toString() }), 3);
    assert.equal((again as { value: { TTL: number } }).value.TTL, 60);
  });

  test("across a leader change: a keep-alive in flight when the leader is isolated is answered by the new leader, whose lessor then keeps the lease", async () => {
    const c = await start();
    const old = c.leader()!;
    const id = await leasedKey(c, old, 10);
    const [f, other] = c.followers() as [InprocMember, InprocMember];
    assert.equal((await c.outcome(f.leases.keepAlive(ctx(), { ID: id.toString() }), 3)).state, "fulfilled", "forwarded to the first leader");
    c.net.isolate(old.id);
    const ka = f.leases.keepAlive(ctx(), { ID: id.toString() });
    const r = await c.outcome(ka, c.requestTimeoutTicks);
    assert.equal(r.state, "fulfilled", `answered within the request timeout: ${show(r)}`);
    assert.equal((r as { value: { TTL: number } }).value.TTL, 10);
    const fresh = c.members.find((m) => m !== old && m.server.leader() === m.id)!;
    assert.ok(fresh, "a new leader among the majority");
    if (fresh === other) assert.equal(f.leaderLinks.at(-1)!.clientUrl, other.config.advertiseClientUrls[0], "f's link now leads to the new leader");
    const ttl = await c.outcome(fresh.server.leases.timeToLive(id, false), 3);
    assert.equal(ttl.state, "fulfilled", "the new leader's lessor has the lease");
    // kept alive through f past the TTL of the last keep-alive the old leader saw
    for (let i = 0; i < 3; i++) {
      await c.tick(secs(5));
      assert.equal((await c.outcome(f.leases.keepAlive(ctx(), { ID: id.toString() }), 3)).state, "fulfilled");
    }
    for (const m of [f, other]) assert.ok(hasLease(m, id), `${m.name} still has the lease`);
  });

  test("a keep-alive sent to the old leader after a move-leader is forwarded to the new one", async () => {
    const c = await start();
    const old = c.leader()!;
    const id = await leasedKey(c, old);
    const [target] = c.followers() as [InprocMember];
    assert.equal((await c.outcome(old.server.moveLeader(target.id), 2 * c.electionTicks)).state, "fulfilled");
    await c.until(() => target.server.leases.lessor.isPrimary(), c.electionTicks, "the new leader's lessor is primary");
    await c.tick(secs(TTL_S) - 5);
    const r = await c.outcome(old.leases.keepAlive(ctx(), { ID: id.toString() }), 3);
    assert.equal((r as { value: { TTL: number } }).value.TTL, TTL_S);
    assert.equal(old.leaderLinks.at(-1)!.clientUrl, target.config.advertiseClientUrls[0]);
    await c.tick(secs(TTL_S) - 5);
    for (const m of c.members) assert.ok(hasLease(m, id), `${m.name} still has the lease past the first TTL`);
  });
});

/**
 * A 60 s lease on the leader, then a put whose entries the leader writes behind a stalled disk: the
 * followers acknowledge, so it commits; its first write goes on and the next (the one before applying)
 * waits, so commit > applied while the disk stays stalled. A long election timeout (the caller's
 * cluster) keeps the stalled leader in place.
 */
async function leaderBehindOnApply(c: InprocCluster): Promise<{ leader: InprocMember; id: bigint; p: Promise<unknown> }> {
  const leader = c.leader()!;
  const g = await c.outcome(grantLease(leader.server, 60), 5);
  const id = (g as { value: { id: bigint } }).value.id;
  c.stallDisk(leader.name);
  const p = put(leader.server, "k", "v");
  await c.settle();
  c.resumeDisk(leader.name);
  c.stallDisk(leader.name);
  await c.settle();
  return { leader, id, p };
}

describe("in-process cluster of 3: the leader's wait for its applied index (ServerLeases.waitApplied)", { timeout: 120_000 }, () => {
  let c: InprocCluster | undefined;
  afterEach(async () => {
    await c?.stop();
    c = undefined;
  });

  test("a leader whose apply is behind its commit for a second (stalled disk) refuses keep-alive and time-to-live with ErrTimeoutWaitAppliedIndex at 1 s, not before", async () => {
    c = await InprocCluster.start({ size: 3, electionMs: 5000 });
    const { leader, id, p } = await leaderBehindOnApply(c);
    assert.ok(leader.server.status().raftIndex > leader.server.appliedIndex(), `commit ${leader.server.status().raftIndex} ahead of applied ${leader.server.appliedIndex()}`);
    const renew = leader.server.leases.renew(id);
    const ttl = leader.server.leases.timeToLive(id, false);
    ttl.catch(() => undefined); // read below, after the renew's outcome
    const early = await c.outcome(renew, secs(1) - 1);
    assert.equal(early.state, "pending", "waits for the applied index");
    const late = await c.outcome(renew, 1);
    assert.equal(late.state, "rejected");
    assert.equal((late as { error: unknown }).error, ErrTimeoutWaitAppliedIndex);
    assert.equal(((await c.outcome(ttl, 0)) as { error: unknown }).error, ErrTimeoutWaitAppliedIndex);
    c.resumeDisk(leader.name);
    assert.equal((await c.outcome(p, 2)).state, "fulfilled", "the put is applied once the disk answers");
    const now = await c.outcome(leader.server.leases.renew(id), 0);
    assert.equal((now as { value: number }).value, 60, "applied caught up: answered at once");
  });

  test("a leader that catches up within the second answers then, not at the timeout", async () => {
    c = await InprocCluster.start({ size: 3, electionMs: 5000 });
    const { leader, id, p } = await leaderBehindOnApply(c);
    const renew = leader.server.leases.renew(id);
    assert.equal((await c.outcome(renew, 5)).state, "pending");
    c.resumeDisk(leader.name);
    const r = await c.outcome(renew, 0);
    assert.equal(r.state, "fulfilled", "answered as soon as applied caught up");
    assert.equal((r as { value: number }).value, 60);
    assert.equal((await c.outcome(p, 2)).state, "fulfilled");
  });
});
