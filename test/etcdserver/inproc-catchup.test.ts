/**
 * Catching up in process (test/support/inproc/): a follower stopped and restarted from its own data
 * under the same leader publishes itself again (etcd publishes at every start) and catches up from
 * the leader's log; one that fell behind the leader's compacted log gets the leader's snapshot (its
 * database copied as the peer transport copies it) and ends with the same keys.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { InprocCluster } from "../support/inproc/cluster.js";
import { get, put } from "../support/inproc/requests.js";

/** SNAPSHOT_CATCHUP_ENTRIES (etcdserver/snapshot-scheduler.ts) plus some: the leader's log no longer has what the member lacks. */
const BEHIND_COMPACTED_LOG = 5200;

async function restartBehind(c: InprocCluster, writes: number): Promise<void> {
  const leader = c.leader()!;
  const lagging = c.followers()[0]!;
  assert.equal((await c.outcome(put(leader.server, "before", "1"), 5)).state, "fulfilled");
  await c.stopMember(lagging.name);
  const acked = await c.outcome(Promise.all(Array.from({ length: writes }, (_, i) => put(leader.server, `k/${i}`, String(i)))), 50);
  assert.equal(acked.state, "fulfilled", "the two running members acknowledge every write");
  // restartMember ticks until the member is ready (has published itself through raft)
  await c.restartMember(lagging.name);
  const restarted = c.member(lagging.name);
  assert.equal(c.leader(), leader, "the leader did not change: no new term, no new no-op entry");
  await c.until(() => restarted.server.appliedIndex() >= leader.server.appliedIndex(), 10 * c.electionTicks, "the restarted member catches up");
  for (const key of ["before", "k/0", `k/${writes - 1}`]) assert.notEqual((await get(restarted.server, key, true)).value, undefined, `${key} on the restarted member`);
  const rev = leader.server.header().revision;
  assert.equal(new Set(c.members.map((m) => m.server.hashKV(rev).hash)).size, 1, "every member has the same keys at the same revisions");
}

test("a follower restarted under the same leader publishes itself again and catches up from the log", { timeout: 120_000 }, async () => {
  const c = await InprocCluster.start({ size: 3 });
  try {
    await restartBehind(c, 20);
    assert.equal(c.net.stats.snapshots, 0, "caught up from the log, no snapshot");
  } finally {
    await c.stop();
  }
});

test("a follower behind the leader's compacted log gets the leader's snapshot and the same keys", { timeout: 180_000 }, async () => {
  const c = await InprocCluster.start({ size: 3, flags: ["--snapshot-count=1000"] });
  try {
    await restartBehind(c, BEHIND_COMPACTED_LOG);
    assert.ok(c.net.stats.snapshots >= 1, "the leader sent a snapshot");
  } finally {
    await c.stop();
  }
});
