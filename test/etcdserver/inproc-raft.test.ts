/**
 * Elections, replication and linearizable reads of three real members in one process
 * (test/support/inproc/): raft messages in memory, time advanced tick by tick by the test. Every
 * bound below is in ticks of the manual clock, so the outcome does not depend on the machine's load.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { InprocCluster } from "../support/inproc/cluster.js";
import { get, put } from "../support/inproc/requests.js";
import { ErrTimeout, ErrTimeoutLeaderTransfer } from "../../server/pb/errors.js";

describe("in-process cluster of 3: elections, replication, linearizable reads", { timeout: 120_000 }, () => {
  let c: InprocCluster;
  beforeEach(async () => {
    c = await InprocCluster.start({ size: 3 });
  });
  afterEach(async () => {
    await c.stop();
  });

  test("one leader is elected and every member agrees on it", async () => {
    const leader = c.leader();
    assert.ok(leader, "a leader after start");
    for (const m of c.members) assert.equal(m.server.leader(), leader.id, `${m.name} follows ${leader.name}`);
    assert.deepEqual(
      c.members.map((m) => m.fatals),
      [0, 0, 0],
    );
  });

  test("isolating the leader: the others elect a new leader in a higher term; the old one steps down and, healed, follows it", async () => {
    const old = c.leader()!;
    const oldTerm = old.server.status().raftTerm;
    c.net.isolate(old.id);
    const others = c.members.filter((m) => m !== old);
    const ticks = await c.until(() => others.some((m) => m.server.leader() === m.id), 4 * c.electionTicks, "a new leader among the majority");
    const fresh = others.find((m) => m.server.leader() === m.id)!;
    assert.ok(ticks > c.electionTicks - 1, `no election before an election timeout passed without heartbeats (took ${ticks} ticks)`);
    assert.ok(fresh.server.status().raftTerm > oldTerm, "the new leader's term is higher");
    await c.until(() => others.every((m) => m.server.leader() === fresh.id), c.electionTicks, "the majority agrees on the new leader");
    // checkQuorum: a leader that hears from no quorum for an election timeout steps down
    await c.until(() => old.server.leader() !== old.id, 2 * c.electionTicks, "the isolated old leader steps down");
    c.net.heal();
    await c.until(() => old.server.leader() === fresh.id, 4 * c.electionTicks, "the healed old leader follows the new one");
    assert.equal(c.leader(), fresh, "leadership did not move back");
  });

  test("a put is acknowledged once a majority has it, and applied on every member (an isolated one after the heal)", async () => {
    const leader = c.leader()!;
    const [f1, f2] = c.followers();
    c.net.isolate(f2!.id);
    const r = await c.outcome(put(leader.server, "k", "v1"), 5);
    assert.equal(r.state, "fulfilled", "acknowledged with leader + one follower");
    for (const m of [leader, f1!]) assert.equal((await get(m.server, "k", true)).value, "v1", `${m.name} applied it`);
    assert.equal((await get(f2!.server, "k", true)).value, undefined, "the isolated follower has not");
    c.net.heal();
    await c.until(() => f2!.server.appliedIndex() >= leader.server.appliedIndex(), 3 * c.electionTicks, "the healed follower catches up");
    assert.equal((await get(f2!.server, "k", true)).value, "v1");
    const revs = await Promise.all(c.members.map(async (m) => (await get(m.server, "k", true)).revision));
    assert.deepEqual(new Set(revs).size, 1, `the same revision everywhere: ${revs.join(",")}`);
  });

  test("without a majority a put is not acknowledged: it is still pending after an election timeout", async () => {
    const leader = c.leader()!;
    for (const f of c.followers()) c.net.isolate(f.id);
    const r = await c.outcome(put(leader.server, "k", "never"), c.electionTicks - 1);
    assert.equal(r.state, "pending");
    for (const f of c.followers()) assert.equal((await get(f.server, "k", true)).value, undefined);
  });

  test("move-leader hands leadership to a reachable follower; to an isolated one it times out (request timeout) and the leader keeps leading", async () => {
    const leader = c.leader()!;
    const [target, cutOff] = c.followers() as [(typeof c.members)[number], (typeof c.members)[number]];
    c.net.isolate(cutOff.id);
    const stuck = await c.outcome(leader.server.moveLeader(cutOff.id), c.requestTimeoutTicks + 5);
    assert.equal(stuck.state, "rejected");
    assert.equal((stuck as { error: unknown }).error, ErrTimeoutLeaderTransfer);
    assert.equal(c.leader(), leader, "the transfer was abandoned");
    c.net.heal();
    await c.until(() => cutOff.server.leader() === leader.id, 4 * c.electionTicks, "the isolated follower is back");
    const moved = await c.outcome(leader.server.moveLeader(target.id), 2 * c.electionTicks);
    assert.equal(moved.state, "fulfilled");
    assert.equal(c.leader(), target);
    await c.until(() => c.members.every((m) => m.server.leader() === target.id), c.electionTicks, "everyone follows the new leader");
  });

  test("a linearizable read on an isolated old leader never answers the stale value: it times out; healed, it reads the new one", async () => {
    const old = c.leader()!;
    assert.equal((await c.outcome(put(old.server, "k", "v1"), 5)).state, "fulfilled");
    c.net.isolate(old.id);
    const others = c.members.filter((m) => m !== old);
    await c.until(() => others.some((m) => m.server.leader() === m.id), 4 * c.electionTicks, "a new leader");
    const fresh = others.find((m) => m.server.leader() === m.id)!;
    assert.equal((await c.outcome(put(fresh.server, "k", "v2"), 5)).state, "fulfilled", "v2 acknowledged by the new majority");
    // the old leader still holds v1: a serializable read shows it, so a stale linearizable read would be caught
    assert.equal((await get(old.server, "k", true)).value, "v1");
    const read = get(old.server, "k");
    const early = await c.outcome(read, 2 * c.electionTicks);
    assert.equal(early.state, "pending", `no answer while isolated: ${JSON.stringify(early)}`);
    const late = await c.outcome(read, c.requestTimeoutTicks);
    assert.equal(late.state, "rejected", "the read ends with an error, never a value");
    assert.equal((late as { error: unknown }).error, ErrTimeout);
    c.net.heal();
    const healed = await c.outcome(get(old.server, "k"), 4 * c.electionTicks);
    assert.equal(healed.state, "fulfilled");
    assert.equal((healed as { value: { value: string | undefined } }).value.value, "v2");
  });
});

describe("in-process cluster: the same seed gives the same elections", { timeout: 120_000 }, () => {
  /** Who leads after start, and after the leader is isolated, at which tick and in which term. */
  async function elections(seed: number): Promise<string[]> {
    const c = await InprocCluster.start({ size: 3, seed });
    try {
      const first = c.leader()!;
      const out = [`${first.name} term ${first.server.status().raftTerm} at tick ${c.elapsedTicks}`];
      c.net.isolate(first.id);
      const others = c.members.filter((m) => m !== first);
      await c.until(() => others.some((m) => m.server.leader() === m.id), 4 * c.electionTicks, "a new leader");
      const second = others.find((m) => m.server.leader() === m.id)!;
      out.push(`${second.name} term ${second.server.status().raftTerm} at tick ${c.elapsedTicks}`);
      return out;
    } finally {
      await c.stop();
    }
  }

  test("two runs with seed 7 elect the same members at the same ticks", async () => {
    const a = await elections(7);
    const b = await elections(7);
    assert.deepEqual(b, a);
  });
});
