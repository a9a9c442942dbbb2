import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryStorage } from "../../server/raft/memory-storage.js";
import { RawNode } from "../../server/raft/raw-node.js";
import { EntryType, MessageType, StateType } from "../../server/raft/types.js";
import { makeMessage } from "../../server/raft/util.js";
import { config, enc, handleReady } from "./helpers.js";
import { Cluster } from "./sim/cluster.js";

const ids3 = [1n, 2n, 3n];
const ids5 = [1n, 2n, 3n, 4n, 5n];

describe("elections", () => {
  it("3 nodes: node 1 campaigns and becomes leader in term 2; everyone follows it", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    assert.equal(c.term(1n), 2);
    for (const id of [2n, 3n]) {
      assert.equal(c.state(id), StateType.Follower);
      assert.equal(c.node(id).status().softState.lead, 1n);
      assert.equal(c.term(id), 2);
    }
    // The leader's empty entry (index 4 after 3 bootstrap entries) is committed and applied everywhere.
    for (const id of ids3) assert.equal(c.member(id).appliedIndex, 4);
  });

  it("3 nodes: ticking alone elects exactly one leader", () => {
    const c = new Cluster({ ids: ids3, seed: 7 });
    assert.ok(c.runUntil(() => c.leaderIds().length === 1, 100));
    assert.equal(c.leaderIds().length, 1);
  });

  it("randomized election timeout is in [electionTick, 2*electionTick)", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const s = new MemoryStorage();
      let x = seed;
      const n = new RawNode(config(1n, s, { randInt: (k) => (x = (x * 7 + 3) % 1000) % k }));
      n.bootstrap([{ id: 1n, context: enc("") }, { id: 2n, context: enc("") }]);
      const t = n.raft.randomizedElectionTimeout;
      assert.ok(t >= 10 && t < 20, `timeout ${t}`);
      seen.add(t);
    }
    assert.ok(seen.size > 3);
  });

  it("3 nodes: partition the leader; a new leader is elected in term 3; after healing the old one follows", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.isolate(1n);
    // The old leader keeps accepting proposals it can not commit.
    c.propose(1n, "lost-write");
    assert.ok(c.runUntil(() => c.leaderIds().some((id) => id !== 1n), 100));
    const newLeader = c.leaderIds().find((id) => id !== 1n)!;
    assert.equal(c.term(newLeader), 3);
    c.propose(newLeader, "kept-write");
    c.stabilize();
    c.heal();
    assert.ok(c.runUntil(() => c.state(1n) === StateType.Follower, 20));
    c.runUntil(() => false, 5);
    assert.equal(c.node(1n).status().softState.lead, newLeader);
    for (const id of ids3) assert.deepEqual(c.userData(id), ["kept-write"]);
  });

  it("a node votes at most once per term, and only for an up-to-date candidate", () => {
    const s = new MemoryStorage();
    const n = new RawNode(config(1n, s));
    n.bootstrap(ids3.map((id) => ({ id, context: enc("") })));
    handleReady(n, s);
    // Vote for 2 in term 5.
    n.step(makeMessage({ type: MessageType.Vote, from: 2n, to: 1n, term: 5, index: 3, logTerm: 1 }));
    // Node 3 asks in the same term: rejected.
    n.step(makeMessage({ type: MessageType.Vote, from: 3n, to: 1n, term: 5, index: 3, logTerm: 1 }));
    // Node 2 again (a retransmission): granted again.
    n.step(makeMessage({ type: MessageType.Vote, from: 2n, to: 1n, term: 5, index: 3, logTerm: 1 }));
    // Node 3 with a stale log in a later term: rejected.
    n.step(makeMessage({ type: MessageType.Vote, from: 3n, to: 1n, term: 6, index: 2, logTerm: 1 }));
    const rd = n.ready();
    assert.deepEqual(
      rd.messages.map((m) => [m.to, m.type, m.term, m.reject]),
      [
        [2n, MessageType.VoteResp, 5, false],
        [3n, MessageType.VoteResp, 5, true],
        [2n, MessageType.VoteResp, 5, false],
        [3n, MessageType.VoteResp, 6, true],
      ],
    );
    assert.deepEqual(rd.hardState, { term: 6, vote: 0n, commit: 3 });
    assert.equal(rd.mustSync, true);
  });

  it("a candidate with a stale log can not win; a node with the longest log wins", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    // Node 3 misses the write.
    c.isolate(3n);
    c.propose(1n, "x");
    c.stabilize();
    c.heal();
    c.crash(1n);
    c.campaign(3n);
    assert.notEqual(c.state(3n), StateType.Leader);
    c.campaign(2n);
    assert.equal(c.state(2n), StateType.Leader);
    c.restart(1n);
    c.runUntil(() => false, 3);
    for (const id of ids3) assert.deepEqual(c.userData(id), ["x"]);
  });

  it("candidate steps down when it hears from a leader of its term", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.isolate(3n);
    c.node(3n).campaign(); // term 3, can not win
    c.stabilize();
    assert.equal(c.state(3n), StateType.Candidate);
    c.heal();
    // Its higher term forces an election; someone wins and 3 ends up consistent.
    assert.ok(c.runUntil(() => c.leaderIds().length === 1 && c.alive().every((m) => m.node!.status().softState.lead !== 0n), 100));
  });
});

describe("pre-vote", () => {
  it("a partitioned follower rejoining does not disrupt the leader (term unchanged)", () => {
    const c = new Cluster({ ids: ids3, config: { preVote: true } });
    c.stabilize();
    c.elect(1n);
    const term = c.term(1n);
    c.isolate(3n);
    // Far past the election timeout: 3 keeps pre-campaigning but never raises its term.
    for (let i = 0; i < 100; i++) {
      c.tickAll();
      c.stabilize();
    }
    assert.equal(c.term(3n), term);
    assert.equal(c.state(3n), StateType.PreCandidate);
    c.heal();
    c.runUntil(() => false, 5);
    assert.equal(c.state(1n), StateType.Leader);
    assert.equal(c.term(1n), term);
    assert.equal(c.state(3n), StateType.Follower);
    assert.equal(c.node(3n).status().softState.lead, 1n);
  });

  it("without pre-vote the rejoining follower forces a new term", () => {
    const c = new Cluster({ ids: ids3, config: { preVote: false } });
    c.stabilize();
    c.elect(1n);
    const term = c.term(1n);
    c.isolate(3n);
    for (let i = 0; i < 100; i++) {
      c.tickAll();
      c.stabilize();
    }
    assert.ok(c.term(3n) > term + 1);
    c.heal();
    c.runUntil(() => c.leaderIds().length === 1 && c.term(c.leader()!) > term, 100);
    assert.ok(c.term(c.leader()!) > term);
  });

  it("pre-vote election increments the term once: pre-candidate -> candidate -> leader", () => {
    const c = new Cluster({ ids: ids3, config: { preVote: true } });
    c.stabilize();
    const seen: StateType[] = [];
    c.onReady = (m, rd) => {
      if (m.id === 1n && rd.softState) seen.push(rd.softState.raftState);
    };
    c.node(1n).campaign();
    assert.equal(c.state(1n), StateType.PreCandidate);
    assert.equal(c.term(1n), 1);
    c.stabilize();
    assert.equal(c.state(1n), StateType.Leader);
    assert.equal(c.term(1n), 2);
    assert.deepEqual(seen, [StateType.PreCandidate, StateType.Candidate, StateType.Leader]);
  });

  it("a pre-vote is not granted while the voter hears from a leader (check-quorum lease)", () => {
    const c = new Cluster({ ids: ids3, config: { preVote: true, checkQuorum: true } });
    c.stabilize();
    c.elect(1n);
    const term = c.term(1n);
    // 3 campaigns (e.g. spuriously): the others are in the lease and ignore it.
    c.node(3n).campaign();
    c.stabilize();
    assert.equal(c.state(1n), StateType.Leader);
    assert.equal(c.term(1n), term);
    assert.equal(c.term(3n), term);
  });
});

describe("check-quorum", () => {
  it("an isolated leader steps down after an election timeout", () => {
    const c = new Cluster({ ids: ids3, config: { checkQuorum: true } });
    c.stabilize();
    c.elect(1n);
    c.isolate(1n);
    c.tickAll(9);
    c.stabilize();
    assert.equal(c.state(1n), StateType.Leader);
    for (let i = 0; i < 12 && c.state(1n) === StateType.Leader; i++) c.tick(1n);
    assert.equal(c.state(1n), StateType.Follower);
  });

  it("a leader with a quorum stays (5 nodes, two followers down)", () => {
    const c = new Cluster({ ids: ids5, config: { checkQuorum: true } });
    c.stabilize();
    c.elect(1n);
    c.crash(4n);
    c.crash(5n);
    c.runUntil(() => false, 50);
    assert.equal(c.state(1n), StateType.Leader);
    c.crash(3n);
    c.runUntil(() => c.state(1n) !== StateType.Leader, 30);
    assert.equal(c.state(1n), StateType.Follower);
  });

  it("with check-quorum, a follower in its lease ignores a higher-term vote request", () => {
    const c = new Cluster({ ids: ids3, config: { checkQuorum: true } });
    c.stabilize();
    c.elect(1n);
    const n2 = c.node(2n);
    n2.step(makeMessage({ type: MessageType.Vote, from: 3n, to: 2n, term: 9, index: 100, logTerm: 9 }));
    assert.equal(n2.status().hardState.term, 2);
    assert.equal(n2.hasReady(), false);
    // Once the lease expired (no heartbeats), it votes.
    for (let i = 0; i < 10; i++) n2.tick();
    n2.step(makeMessage({ type: MessageType.Vote, from: 3n, to: 2n, term: 9, index: 100, logTerm: 9 }));
    assert.equal(n2.status().hardState.term, 9);
    assert.equal(n2.status().hardState.vote, 3n);
  });

  it("with check-quorum, a stale leader is told the higher term via MsgAppResp", () => {
    const c = new Cluster({ ids: ids3, config: { checkQuorum: true } });
    c.stabilize();
    c.elect(1n);
    const n2 = c.node(2n);
    n2.step(makeMessage({ type: MessageType.Heartbeat, from: 3n, to: 2n, term: 1 }));
    const rd = n2.ready();
    assert.deepEqual(rd.messages.map((m) => [m.type, m.to, m.term]), [[MessageType.AppResp, 3n, 2]]);
    n2.advance(rd);
  });
});

describe("campaign restrictions", () => {
  it("a node with an unapplied committed conf change does not campaign", () => {
    const s = new MemoryStorage();
    const n = new RawNode(config(1n, s));
    n.bootstrap([{ id: 1n, context: enc("") }]);
    // Conf change entries are committed but not applied yet (no advance).
    n.campaign();
    assert.equal(n.status().softState.raftState, StateType.Follower);
    const rd = n.ready();
    s.append(rd.entries);
    s.setHardState(rd.hardState!);
    for (const e of rd.committedEntries) assert.equal(e.type, EntryType.ConfChange);
    n.advance(rd);
    n.campaign();
    assert.equal(n.status().softState.raftState, StateType.Leader);
  });

  it("a learner never campaigns", () => {
    const c = new Cluster({ ids: [1n, 2n], voters: [1n] });
    c.stabilize();
    c.elect(1n);
    c.node(1n).proposeConfChange({ type: 3 /* AddLearnerNode */, nodeId: 2n, context: enc("") });
    c.runUntil(() => c.member(2n).confState.learners.includes(2n), 50);
    c.crash(1n);
    for (let i = 0; i < 50; i++) c.tick(2n);
    c.stabilize();
    assert.equal(c.state(2n), StateType.Follower);
  });
});
