/**
 * Lease expiry on three in-process members (test/support/inproc/), driven by the manual clock: the
 * leader's lessor finds the lease expired, proposes LeaseRevoke through raft, and every member
 * deletes the lease and its keys at the same revision. No sleeps: time moves only by ticks.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { InprocCluster, type InprocMember } from "../support/inproc/cluster.js";
import { get, grantLease, put } from "../support/inproc/requests.js";

const TTL_S = 5;

describe("in-process cluster of 3: lease expiry by the clock, revoked through raft", { timeout: 120_000 }, () => {
  let c: InprocCluster;
  beforeEach(async () => {
    c = await InprocCluster.start({ size: 3 });
  });
  afterEach(async () => {
    await c.stop();
  });

  /** Ticks in `s` seconds (a tick is one 100 ms heartbeat). */
  const secs = (s: number) => Math.round((s * 1000) / 100);

  async function leasedKey(leader: InprocMember): Promise<bigint> {
    const granted = await c.outcome(grantLease(leader.server, TTL_S), 5);
    assert.equal(granted.state, "fulfilled");
    const id = (granted as { value: { id: bigint } }).value.id;
    assert.equal((await c.outcome(put(leader.server, "leased", "v", id), 5)).state, "fulfilled");
    await c.settle();
    return id;
  }

  async function valuesEverywhere(key: string): Promise<Array<string | undefined>> {
    return Promise.all(c.members.map(async (m) => (await get(m.server, key, true)).value));
  }

  test("a lease nobody keeps alive expires at its TTL: revoked on every member, its key deleted at one revision", async () => {
    const leader = c.leader()!;
    const id = await leasedKey(leader);
    const revBefore = leader.server.header().revision;
    await c.tick(secs(TTL_S) - 5);
    assert.deepEqual(await valuesEverywhere("leased"), ["v", "v", "v"], "still there half a second before the TTL");
    for (const m of c.members) assert.ok(m.server.leases.list().some((l) => l.id === id), `${m.name} still has the lease`);
    // the expiry loop runs every 500 ms: the lease is found within a loop of its expiry, then revoked through raft
    await c.until(() => c.members.every((m) => !m.server.leases.list().some((l) => l.id === id)), secs(1) + 10, "the lease is revoked everywhere");
    assert.deepEqual(await valuesEverywhere("leased"), [undefined, undefined, undefined], "the key went with the lease");
    const revs = c.members.map((m) => m.server.header().revision);
    assert.deepEqual(revs, [revBefore + 1, revBefore + 1, revBefore + 1], "one revision for the revoke, the same on every member");
  });

  test("a lease kept alive on the leader outlives its TTL; once the keep-alives stop it expires a TTL later", async () => {
    const leader = c.leader()!;
    const id = await leasedKey(leader);
    for (let i = 0; i < 4; i++) {
      await c.tick(secs(TTL_S / 2));
      const renewed = await c.outcome(leader.server.leases.renew(id), 5);
      assert.equal(renewed.state, "fulfilled");
    }
    assert.deepEqual(await valuesEverywhere("leased"), ["v", "v", "v"], `alive after ${2 * TTL_S} s of keep-alives`);
    await c.tick(secs(TTL_S) - 5);
    assert.deepEqual(await valuesEverywhere("leased"), ["v", "v", "v"], "a TTL after the last keep-alive is not over yet");
    await c.until(() => c.members.every((m) => !m.server.leases.list().some((l) => l.id === id)), secs(1) + 10, "revoked a TTL after the last keep-alive");
    assert.deepEqual(await valuesEverywhere("leased"), [undefined, undefined, undefined]);
  });

  test("a lease whose leader is isolated is not revoked by it: the new leader's lessor expires it (TTL extended by an election timeout)", async () => {
    const old = c.leader()!;
    const id = await leasedKey(old);
    c.net.isolate(old.id);
    const others = c.members.filter((m) => m !== old);
    await c.until(() => others.some((m) => m.server.leader() === m.id), 4 * c.electionTicks, "a new leader");
    // the old leader cannot revoke (no quorum), so its copy stays; the majority's new lessor revokes
    await c.until(() => others.every((m) => !m.server.leases.list().some((l) => l.id === id)), secs(TTL_S) + 2 * c.electionTicks + 20, "the majority revokes the lease");
    assert.ok(old.server.leases.list().some((l) => l.id === id), "the isolated member never applied the revoke");
    c.net.heal();
    await c.until(() => !old.server.leases.list().some((l) => l.id === id), 4 * c.electionTicks, "the healed member applies the revoke");
    assert.deepEqual(await valuesEverywhere("leased"), [undefined, undefined, undefined]);
  });
});
