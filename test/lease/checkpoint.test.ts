/** Lease checkpoints in the lessor (etcd 3.4's scheduleCheckpointIfNeeded / findDueScheduledCheckpoints / Promote), on an injected clock. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Lessor } from "../../server/lease/index.js";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("lease checkpoints", () => {
  it("are due one interval after promotion, with the remaining TTL rounded up, for leases longer than the interval", () => {
    const c = clock();
    const l = new Lessor(undefined, { minTtl: 1, now: c.now, checkpointing: true, checkpointIntervalMs: 10_000 });
    l.promote(0);
    l.grant(1n, 60);
    l.grant(2n, 5); // shorter than the interval: never checkpointed
    assert.deepEqual(l.checkpointsDue(10), []);
    c.advance(10_500);
    assert.deepEqual(l.checkpointsDue(10), [{ id: 1n, remainingTtl: 50 }]);
    assert.deepEqual(l.checkpointsDue(10), [], "taken once");
  });

  it("a new primary starts a checkpointed lease from its remaining TTL; renewing needs the checkpoint cleared first", async () => {
    const c = clock();
    const l = new Lessor(undefined, { minTtl: 1, now: c.now, checkpointing: true, checkpointIntervalMs: 10_000 });
    l.grant(1n, 60);
    l.checkpoint(1n, 20); // applied on every member
    l.promote(1000);
    assert.equal(l.remainingSeconds(l.lookup(1n)!), 21);
    assert.equal(l.needsCheckpointClear(1n), true);
    l.checkpoint(1n, 0);
    assert.equal(l.needsCheckpointClear(1n), false);
    assert.equal(await l.renew(1n), 60);
    assert.equal(l.remainingSeconds(l.lookup(1n)!), 60);
  });

  it("without checkpointing nothing is due and a new primary restarts every lease at its full TTL", () => {
    const c = clock();
    const l = new Lessor(undefined, { minTtl: 1, now: c.now, checkpointIntervalMs: 10_000 });
    l.promote(0);
    l.grant(1n, 60);
    c.advance(30_000);
    assert.deepEqual(l.checkpointsDue(10), []);
    assert.equal(l.needsCheckpointClear(1n), false);
    l.demote();
    l.promote(0);
    assert.equal(l.remainingSeconds(l.lookup(1n)!), 60);
  });

  it("a demoted lessor forgets its schedule", () => {
    const c = clock();
    const l = new Lessor(undefined, { minTtl: 1, now: c.now, checkpointing: true, checkpointIntervalMs: 10_000 });
    l.promote(0);
    l.grant(1n, 60);
    l.demote();
    c.advance(20_000);
    assert.deepEqual(l.checkpointsDue(10), []);
  });
});
