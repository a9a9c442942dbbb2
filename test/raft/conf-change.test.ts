import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeConfChange, encodeConfChange } from "../../server/raft/conf-change-codec.js";
import { ConfChangeType, EntryType, type Message, MessageType, StateType } from "../../server/raft/types.js";
import { enc } from "./helpers.js";
import { Cluster } from "./sim/cluster.js";

const ids3 = [1n, 2n, 3n];

describe("conf change codec", () => {
  it("round-trips", () => {
    for (const cc of [
      { type: ConfChangeType.AddNode, nodeId: 1n, context: enc("") },
      { type: ConfChangeType.RemoveNode, nodeId: 0xffff_ffff_ffff_ffffn, context: enc("{\"name\":\"x\"}") },
      { type: ConfChangeType.AddLearnerNode, nodeId: 42n, context: new Uint8Array([0, 255, 1]) },
      { type: ConfChangeType.UpdateNode, nodeId: 7n, context: enc("peer-urls") },
    ]) {
      const d = decodeConfChange(encodeConfChange(cc));
      assert.equal(d.type, cc.type);
      assert.equal(d.nodeId, cc.nodeId);
      assert.deepEqual([...d.context], [...cc.context]);
    }
  });

  it("rejects garbage", () => {
    assert.throws(() => decodeConfChange(new Uint8Array([1, 2, 3])));
    const ok = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 1n, context: enc("ab") });
    assert.throws(() => decodeConfChange(ok.subarray(0, ok.length - 1)));
    const bad = ok.slice();
    bad[0] = 9;
    assert.throws(() => decodeConfChange(bad));
  });
});

describe("membership changes", () => {
  it("adds a voter to a 3-node cluster; the new member catches up from the log and counts in the quorum", () => {
    const c = new Cluster({ ids: [1n, 2n, 3n, 4n], voters: ids3 });
    c.stabilize();
    c.elect(1n);
    c.propose(1n, "before");
    c.node(1n).proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 4n, context: enc("m4") });
    c.stabilize();
    c.runUntil(() => c.member(4n).confState.voters.length === 4, 10);
    for (const id of [1n, 2n, 3n, 4n]) assert.deepEqual(c.member(id).confState, { voters: [1n, 2n, 3n, 4n], learners: [] });
    assert.deepEqual(c.userData(4n), ["before"]);
    // Quorum is now 3 of 4: with 2 and 3 down, nothing commits.
    c.crash(2n);
    c.crash(3n);
    c.propose(1n, "needs-3-of-4");
    c.stabilize();
    assert.deepEqual(c.userData(1n), ["before"]);
    c.restart(2n);
    c.runUntil(() => c.userData(1n).length === 2, 10);
    assert.deepEqual(c.userData(4n), ["before", "needs-3-of-4"]);
  });

  it("one conf change at a time: a second one before the first is applied becomes an empty entry", () => {
    const c = new Cluster({ ids: [1n, 2n, 3n, 4n, 5n], voters: ids3 });
    c.stabilize();
    c.elect(1n);
    c.node(1n).proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 4n, context: enc("") });
    c.node(1n).proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 5n, context: enc("") });
    c.stabilize();
    const last = c.member(1n).applied.slice(-2);
    assert.equal(last[0]!.split("/")[1], String(EntryType.ConfChange));
    assert.equal(last[1], `2/${EntryType.Normal}/`);
    assert.deepEqual(c.member(1n).confState.voters, [1n, 2n, 3n, 4n]);
    // Once applied, the next one is accepted.
    c.node(1n).proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 5n, context: enc("") });
    c.stabilize();
    assert.deepEqual(c.member(1n).confState.voters, [1n, 2n, 3n, 4n, 5n]);
  });

  it("a new leader refuses conf changes until it has applied its whole log", () => {
    const c = new Cluster({ ids: [1n, 2n, 3n, 4n], voters: ids3 });
    c.stabilize();
    c.elect(1n);
    // An entry reaches the followers but is not known committed.
    c.net.dropTypes.add(MessageType.AppResp);
    c.propose(1n, "uncommitted");
    c.stabilize();
    c.net.dropTypes.clear();
    c.crash(1n);
    // 2 wins, but its appends are held back: it has applied nothing of its new log yet.
    c.net.filter = (m) => !(m.from === 2n && m.type === MessageType.App);
    c.elect(2n);
    assert.equal(c.node(2n).raft.pendingConfIndex, 5);
    assert.equal(c.node(2n).status().applied, 4);
    c.node(2n).proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 4n, context: enc("") });
    c.net.filter = undefined;
    c.runUntil(() => c.member(2n).appliedIndex === 7, 5);
    assert.deepEqual(c.member(2n).confState.voters, [1n, 2n, 3n]);
    assert.equal(c.member(2n).applied[6], `3/${EntryType.Normal}/`);
    assert.deepEqual(c.userData(2n), ["uncommitted"]);
  });

  it("adds a learner and promotes it with AddNode", () => {
    const c = new Cluster({ ids: [1n, 2n, 3n, 4n], voters: ids3 });
    c.stabilize();
    c.elect(1n);
    c.node(1n).proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 4n, context: enc("") });
    c.propose(1n, "x");
    c.runUntil(() => c.userData(4n).length === 1, 10);
    assert.deepEqual(c.member(4n).confState, { voters: [1n, 2n, 3n], learners: [4n] });
    assert.equal(c.node(1n).status().progress!.get(4n)!.isLearner, true);
    c.node(1n).proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 4n, context: enc("") });
    c.runUntil(() => c.member(4n).confState.voters.includes(4n), 10);
    for (const id of [1n, 2n, 3n, 4n]) assert.deepEqual(c.member(id).confState, { voters: [1n, 2n, 3n, 4n], learners: [] });
    assert.equal(c.node(1n).status().progress!.get(4n)!.isLearner, false);
    assert.equal(c.node(4n).raft.isLearner, false);
    // The promoted member can now lead.
    c.node(1n).transferLeader(4n);
    c.stabilize();
    assert.equal(c.state(4n), StateType.Leader);
  });

  it("removes a follower: the quorum shrinks", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.node(1n).proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3n, context: enc("") });
    c.stabilize();
    assert.deepEqual(c.member(1n).confState.voters, [1n, 2n]);
    assert.equal(c.node(1n).status().progress!.has(3n), false);
    c.crash(3n);
    c.propose(1n, "two-of-two");
    c.stabilize();
    assert.deepEqual(c.userData(2n), ["two-of-two"]);
  });

  it("removing the last voter is refused", () => {
    const c = new Cluster({ ids: [1n] });
    c.stabilize();
    c.elect(1n);
    assert.throws(() => c.node(1n).applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 1n, context: enc("") }));
  });

  it("a removed leader steps down and hands over; the others elect a new leader", () => {
    const c = new Cluster({ ids: ids3, config: { preVote: true, checkQuorum: true } });
    c.stabilize();
    c.elect(1n);
    const sent: Message[] = [];
    c.onReady = (m, rd) => {
      if (m.id === 1n) sent.push(...rd.messages);
    };
    c.node(1n).proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 1n, context: enc("") });
    c.stabilize();
    assert.equal(c.state(1n), StateType.Follower);
    assert.ok(sent.some((m) => m.type === MessageType.TimeoutNow));
    c.runUntil(() => c.leaderIds().some((id) => id !== 1n), 30);
    const leader = c.leader()!;
    assert.notEqual(leader, 1n);
    assert.deepEqual(c.member(leader).confState.voters, [2n, 3n]);
    c.propose(leader, "after-removal");
    c.stabilize();
    assert.deepEqual(c.userData(2n), ["after-removal"]);
    assert.deepEqual(c.userData(3n), ["after-removal"]);
    // The removed node never campaigns again.
    c.crash(2n);
    c.crash(3n);
    for (let i = 0; i < 50; i++) c.tick(1n);
    assert.equal(c.state(1n), StateType.Follower);
  });

  it("responses from removed members are ignored", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.node(1n).proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3n, context: enc("") });
    c.stabilize();
    const before = c.node(1n).status();
    c.node(1n).step({
      type: MessageType.AppResp,
      to: 1n,
      from: 3n,
      term: before.hardState.term,
      logTerm: 0,
      index: 1000,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
      context: enc(""),
      commitOnly: false,
    });
    assert.equal(c.node(1n).hasReady(), false);
  });
});
