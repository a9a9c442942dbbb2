/**
 * --experimental-enable-lease-checkpoint on three in-process members (test/support/inproc/): the
 * leader checkpoints each lease's remaining TTL through raft, so after a leader change the lease goes
 * on from about where it was; without the flag the new leader starts it again from its full TTL
 * (etcd 3.4's default). etcd checkpoints every 5 minutes; ETCDTS_LEASE_CHECKPOINT_INTERVAL_MS (read
 * when a member is composed) makes it 1 s here. Time is the manual clock's: 8 s are 80 ticks.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { InprocCluster, type InprocMember } from "../support/inproc/cluster.js";
import { grantLease } from "../support/inproc/requests.js";

const GRANTED = 60;
const INTERVAL_ENV = "ETCDTS_LEASE_CHECKPOINT_INTERVAL_MS";

async function ttlOf(c: InprocCluster, m: InprocMember, id: bigint): Promise<number> {
  const r = await c.outcome(m.server.leases.timeToLive(id, false), 3);
  assert.equal(r.state, "fulfilled", `timetolive on ${m.name}: ${r.state === "rejected" ? String(r.error) : r.state}`);
  return (r as { value: { ttl: number } }).value.ttl;
}

/** Grants a lease, lets 8 s of it pass, moves the leadership, and answers its TTL as the new leader sees it. */
async function ttlAfterLeaderChange(c: InprocCluster): Promise<{ before: number; after: number }> {
  const leader = c.leader()!;
  const g = await c.outcome(grantLease(leader.server, GRANTED), 5);
  const id = (g as { value: { id: bigint } }).value.id;
  await c.tick(80);
  const before = await ttlOf(c, leader, id);
  const [target] = c.followers() as [InprocMember];
  assert.equal((await c.outcome(leader.server.moveLeader(target.id), 2 * c.electionTicks)).state, "fulfilled");
  await c.until(() => target.server.leases.lessor.isPrimary(), c.electionTicks, "the new leader's lessor is primary");
  return { before, after: await ttlOf(c, target, id) };
}

describe("in-process cluster of 3: lease checkpoints across a leader change", { timeout: 120_000 }, () => {
  let c: InprocCluster | undefined;
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env[INTERVAL_ENV];
    process.env[INTERVAL_ENV] = "1000";
  });
  afterEach(async () => {
    await c?.stop();
    c = undefined;
    if (saved === undefined) delete process.env[INTERVAL_ENV];
    else process.env[INTERVAL_ENV] = saved;
  });

  test("with --experimental-enable-lease-checkpoint the new leader goes on from the checkpointed TTL", async () => {
    c = await InprocCluster.start({ size: 3, flags: ["--experimental-enable-lease-checkpoint"] });
    const { before, after } = await ttlAfterLeaderChange(c);
    assert.ok(before <= GRANTED - 7, `before: ${before}`);
    // the last checkpoint (at most 1 s old) plus the new leader's election-timeout extension (1 s)
    assert.ok(after <= GRANTED - 4, `after ${after} vs before ${before}: reset to the full TTL?`);
    assert.ok(after >= before - 1, `after ${after} vs before ${before}: less than was left?`);
  });

  test("without it the new leader restarts the lease at its full TTL (etcd 3.4's default)", async () => {
    c = await InprocCluster.start({ size: 3 });
    const { before, after } = await ttlAfterLeaderChange(c);
    assert.ok(before <= GRANTED - 7, `before: ${before}`);
    assert.ok(after >= GRANTED - 1, `after: ${after}`);
  });
});
