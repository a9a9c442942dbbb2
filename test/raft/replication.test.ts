import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryStorage } from "../../server/raft/memory-storage.js";
import { Raft } from "../../server/raft/raft.js";
import { RawNode } from "../../server/raft/raw-node.js";
import { EntryType, ErrProposalDropped, type Message, MessageType, StateType } from "../../server/raft/types.js";
import { makeMessage } from "../../server/raft/util.js";
import { config, enc } from "./helpers.js";
import { Cluster } from "./sim/cluster.js";

const ids3 = [1n, 2n, 3n];

function appsTo(msgs: readonly Message[], to: bigint): Message[] {
  return msgs.filter((m) => m.type === MessageType.App && m.to === to);
}

describe("log replication", () => {
  it("3 nodes: proposals on the leader are applied everywhere, in order", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    for (let i = 0; i < 20; i++) c.propose(1n, `v${i}`);
    c.stabilize();
    const want = Array.from({ length: 20 }, (_, i) => `v${i}`);
    for (const id of ids3) assert.deepEqual(c.userData(id), want);
  });

  it("a proposal on a follower is forwarded to the leader (MsgProp) and committed", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    const sent: Message[] = [];
    c.onReady = (m, rd) => {
      if (m.id === 2n) sent.push(...rd.messages);
    };
    c.propose(2n, "from-follower");
    c.stabilize();
    assert.ok(sent.some((m) => m.type === MessageType.Prop && m.to === 1n && m.term === 0));
    for (const id of ids3) assert.deepEqual(c.userData(id), ["from-follower"]);
  });

  it("the commit broadcast to followers in replicate state is commitOnly, and they accept it without an answer", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    const leaderSent: Message[] = [];
    const followerSent: Message[] = [];
    c.onReady = (m, rd) => (m.id === 1n ? leaderSent : followerSent).push(...rd.messages);
    c.propose(1n, "v");
    c.stabilize();
    const apps = leaderSent.filter((m) => m.type === MessageType.App);
    const withEntry = apps.filter((m) => m.entries.length > 0);
    const commitOnly = apps.filter((m) => m.commitOnly);
    assert.equal(withEntry.length, 2);
    assert.ok(withEntry.every((m) => !m.commitOnly), "a message with entries always asks for an answer");
    assert.deepEqual(commitOnly.map((m) => [m.to, m.entries.length, m.index]).sort(), [[2n, 0, withEntry[0]!.entries[0]!.index], [3n, 0, withEntry[0]!.entries[0]!.index]]);
    // each follower answered the entry, not the commit index (one of them had not yet acknowledged the entry when it was committed)
    assert.equal(followerSent.filter((m) => m.type === MessageType.AppResp).length, 2);
    for (const id of ids3) assert.deepEqual(c.userData(id), ["v"]);
    for (const id of [2n, 3n]) assert.equal(c.node(id).status().hardState.commit, c.node(1n).status().hardState.commit, "the followers committed it");
  });

  it("a commitOnly MsgApp that does not match the follower's log is still answered (a rejection), and one below its commit too", () => {
    const storage = new MemoryStorage();
    const r = new Raft(config(2n, storage));
    r.becomeFollower(2, 1n);
    r.step(makeMessage({ type: MessageType.App, from: 1n, to: 2n, term: 2, logTerm: 2, index: 5, commit: 5, commitOnly: true }));
    const rejected = r.msgs.splice(0);
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]!.type, MessageType.AppResp);
    assert.equal(rejected[0]!.reject, true);
    r.step(makeMessage({ type: MessageType.App, from: 1n, to: 2n, term: 2, logTerm: 0, index: 0, commit: 0, entries: [{ term: 2, index: 1, type: EntryType.Normal, data: enc("a") }, { term: 2, index: 2, type: EntryType.Normal, data: enc("b") }] }));
    assert.equal(r.msgs.splice(0).length, 1, "entries are answered");
    r.step(makeMessage({ type: MessageType.App, from: 1n, to: 2n, term: 2, logTerm: 2, index: 2, commit: 2, commitOnly: true }));
    assert.equal(r.msgs.splice(0).length, 0, "accepted: no answer");
    assert.equal(r.raftLog.committed, 2);
    r.step(makeMessage({ type: MessageType.App, from: 1n, to: 2n, term: 2, logTerm: 2, index: 1, commit: 2, commitOnly: true }));
    const below = r.msgs.splice(0);
    assert.deepEqual(below.map((m) => [m.type, m.index, m.reject]), [[MessageType.AppResp, 2, false]], "below the commit index: answered with it");
  });

  it("a lagging follower catches up after healing (probe -> replicate)", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.isolate(3n);
    for (let i = 0; i < 30; i++) c.propose(1n, `v${i}`);
    c.stabilize();
    c.node(1n).reportUnreachable(3n);
    assert.equal(c.node(1n).status().progress!.get(3n)!.state, "probe");
    assert.equal(c.userData(3n).length, 0);
    c.heal();
    c.runUntil(() => c.userData(3n).length === 30, 10);
    assert.equal(c.userData(3n).length, 30);
    const pr = c.node(1n).status().progress!.get(3n)!;
    assert.equal(pr.state, "replicate");
    assert.equal(pr.match, c.node(1n).status().hardState.commit);
  });

  it("fast back-off: a long divergent log is repaired in a few round trips", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    // Old leader 1 appends 100 entries nobody else gets.
    c.isolate(1n);
    for (let i = 0; i < 100; i++) c.propose(1n, `stale${i}`);
    c.stabilize();
    // 2 becomes leader and writes 100 entries of its own, over three terms.
    c.campaign(2n);
    for (let i = 0; i < 50; i++) c.propose(2n, `new${i}`);
    c.stabilize();
    c.campaign(3n);
    for (let i = 0; i < 50; i++) c.propose(3n, `newer${i}`);
    c.stabilize();
    const leader = c.leader()!;
    assert.equal(leader, 3n);
    let rejections = 0;
    c.onReady = (m, rd) => {
      if (m.id === 1n) rejections += rd.messages.filter((x) => x.type === MessageType.AppResp && x.reject).length;
    };
    c.heal();
    c.runUntil(() => c.userData(1n).length === 100, 20);
    assert.equal(c.userData(1n).length, 100);
    assert.deepEqual(c.userData(1n), c.userData(3n));
    assert.ok(rejections <= 3, `took ${rejections} rejections`);
  });

  it("maxSizePerMsg limits the entries of one MsgApp (at least one entry each)", () => {
    const c = new Cluster({ ids: ids3, config: { maxSizePerMsg: 100 } });
    c.stabilize();
    c.elect(1n);
    const apps: Message[] = [];
    c.onReady = (m, rd) => {
      if (m.id === 1n) apps.push(...appsTo(rd.messages, 2n));
    };
    c.isolate(2n);
    for (let i = 0; i < 10; i++) c.propose(1n, "x".repeat(40)); // 61 bytes each
    c.stabilize();
    c.heal();
    apps.length = 0;
    c.node(1n).reportUnreachable(2n); // back to probe: resend everything
    c.runUntil(() => c.userData(2n).length === 10, 10);
    const sizes = apps.filter((m) => m.entries.length > 0).map((m) => m.entries.length);
    assert.ok(sizes.length >= 5, `sizes ${sizes}`);
    assert.ok(sizes.every((n) => n === 1), `sizes ${sizes}`);
  });

  it("the inflight window caps unacknowledged MsgApps (maxInflightMsgs)", () => {
    const c = new Cluster({ ids: ids3, config: { maxInflightMsgs: 3 } });
    c.stabilize();
    c.elect(1n);
    // 2 acknowledges nothing.
    c.net.filter = (m) => !(m.from === 2n && m.type === MessageType.AppResp);
    const apps: Message[] = [];
    c.onReady = (m, rd) => {
      if (m.id === 1n) apps.push(...appsTo(rd.messages, 2n).filter((x) => x.entries.length > 0));
    };
    for (let i = 0; i < 10; i++) {
      c.propose(1n, `v${i}`);
      c.stabilize();
    }
    assert.equal(apps.length, 3);
    assert.equal(c.node(1n).status().progress!.get(2n)!.state, "replicate");
    // Node 3 still gets everything: the cluster commits.
    assert.equal(c.userData(3n).length, 10);
    // A heartbeat response frees one slot.
    c.net.filter = undefined;
    c.runUntil(() => c.userData(2n).length === 10, 10);
    assert.equal(c.userData(2n).length, 10);
  });

  it("learners replicate but never count towards the commit quorum", () => {
    const c = new Cluster({ ids: [1n, 2n, 3n], voters: [1n, 2n] });
    c.stabilize();
    c.elect(1n);
    c.node(1n).proposeConfChange({ type: 3 /* AddLearnerNode */, nodeId: 3n, context: enc("") });
    c.runUntil(() => c.member(3n).confState.learners.includes(3n), 20);
    assert.deepEqual(c.member(1n).confState, { voters: [1n, 2n], learners: [3n] });
    c.isolate(2n);
    c.propose(1n, "needs-2");
    c.stabilize();
    const commit = c.node(1n).status().hardState.commit;
    assert.equal(c.node(1n).raft.raftLog.lastIndex(), commit + 1, "not committed with only the learner's ack");
    assert.equal(c.node(1n).status().progress!.get(3n)!.match, commit + 1);
    c.heal();
    c.runUntil(() => c.userData(1n).length === 1, 10);
    for (const id of [1n, 2n, 3n]) assert.deepEqual(c.userData(id), ["needs-2"]);
  });

  it("uncommitted size limit drops proposals, with room again after commit", () => {
    const c = new Cluster({ ids: ids3, config: { maxUncommittedEntriesSize: 100 } });
    c.stabilize();
    c.elect(1n);
    c.isolate(1n);
    c.propose(1n, "x".repeat(60));
    c.propose(1n, "y".repeat(30)); // 90 <= 100
    assert.throws(() => c.propose(1n, "z".repeat(30)), (e) => e === ErrProposalDropped);
    c.heal();
    c.runUntil(() => c.userData(1n).length === 2, 5);
    c.propose(1n, "z".repeat(30));
    c.stabilize();
    assert.equal(c.userData(3n).length, 3);
  });

  it("a leader commits only entries of its own term by counting replicas (§5.4.2)", () => {
    // Log: entries 1..2 at term 1 in storage; node 1 becomes leader of term 3.
    const s = new MemoryStorage();
    s.append([
      { term: 1, index: 1, type: EntryType.Normal, data: enc("a") },
      { term: 1, index: 2, type: EntryType.Normal, data: enc("b") },
    ]);
    s.setHardState({ term: 2, vote: 0n, commit: 1 });
    s.createSnapshot(1, { voters: [1n, 2n, 3n], learners: [] }, enc(""));
    const r = new Raft(config(1n, s));
    r.becomeCandidate();
    r.becomeLeader(); // term 3, appends the empty entry at index 3
    assert.equal(r.term, 3);
    assert.equal(r.raftLog.lastIndex(), 3);
    r.step(makeMessage({ type: MessageType.AppResp, from: 2n, to: 1n, term: 3, index: 2 }));
    assert.equal(r.raftLog.committed, 1, "index 2 (term 1) is on a quorum but not committed");
    r.step(makeMessage({ type: MessageType.AppResp, from: 2n, to: 1n, term: 3, index: 3 }));
    assert.equal(r.raftLog.committed, 3);
  });

  it("a follower rejects a mismatching MsgApp with a (rejectHint, logTerm) hint", () => {
    const s = new MemoryStorage();
    s.applySnapshot({ metadata: { index: 1, term: 1, confState: { voters: [1n, 2n], learners: [] } }, data: enc("") });
    s.append([
      { term: 1, index: 2, type: EntryType.Normal, data: enc("") },
      { term: 2, index: 3, type: EntryType.Normal, data: enc("") },
      { term: 2, index: 4, type: EntryType.Normal, data: enc("") },
      { term: 4, index: 5, type: EntryType.Normal, data: enc("") },
    ]);
    s.setHardState({ term: 5, vote: 0n, commit: 1 });
    const n = new RawNode(config(2n, s));
    // Leader of term 6 probes at (index 7, logTerm 5): beyond our log.
    n.step(makeMessage({ type: MessageType.App, from: 1n, to: 2n, term: 6, index: 7, logTerm: 5 }));
    // ... and at (index 5, logTerm 3): our entry 5 has term 4 > 3, 4 has term 2 <= 3.
    n.step(makeMessage({ type: MessageType.App, from: 1n, to: 2n, term: 6, index: 5, logTerm: 3 }));
    const rd = n.ready();
    assert.deepEqual(
      rd.messages.map((m) => [m.type, m.reject, m.index, m.rejectHint, m.logTerm]),
      [
        [MessageType.AppResp, true, 7, 5, 4],
        [MessageType.AppResp, true, 5, 4, 2],
      ],
    );
  });

  it("proposals are dropped while there is no leader, and by a candidate", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    assert.throws(() => c.propose(1n, "x"), (e) => e === ErrProposalDropped);
    c.isolate(1n);
    c.node(1n).campaign();
    assert.equal(c.state(1n), StateType.Candidate);
    assert.throws(() => c.propose(1n, "x"), (e) => e === ErrProposalDropped);
  });
});
