/**
 * The Ready plan (server/raft/ready-plan.ts) that both the server's RaftLoop and the simulation
 * execute: its order, and a scripted run of the case it exists for: a leader that sends its appends
 * before writing them and crashes in between loses nothing committed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { leadsAfter, planReady } from "../../server/raft/ready-plan.js";
import { EntryType, MessageType, type Entry, type Message, type Ready, type Snapshot, StateType } from "../../server/raft/types.js";
import { Cluster } from "./sim/cluster.js";
import { dec } from "./helpers.js";

const entry = (index: number): Entry => ({ term: 1, index, type: EntryType.Normal, data: new Uint8Array([index]) });
const msg = (type: MessageType): Message => ({
  type,
  to: 2n,
  from: 1n,
  term: 1,
  logTerm: 1,
  index: 1,
  entries: [],
  commit: 0,
  snapshot: undefined,
  reject: false,
  rejectHint: 0,
  context: new Uint8Array(),
  commitOnly: false,
});
const ready = (o: Partial<Ready>): Ready => ({ readStates: [], entries: [], committedEntries: [], messages: [], mustSync: false, ...o });
const kinds = (rd: Ready, leader: boolean, committedHere = false) =>
  planReady(rd, leader, { committedHere }).map((s) => (s.kind === "send" ? (s.beforePersist ? "send-early" : s.afterAnswers ? "send-after-answers" : "send") : s.kind));

describe("the Ready plan", () => {
  const rd = ready({ hardState: { term: 1, vote: 1n, commit: 1 }, entries: [entry(2)], committedEntries: [entry(1)], messages: [msg(MessageType.App)], mustSync: true, readStates: [{ index: 1, requestCtx: new Uint8Array([1]) }] });

  it("a leader sends before persisting; everything else is applied only after it is durable", () => {
    assert.deepEqual(kinds(rd, true), ["send-early", "persist", "appendToLog", "apply", "readStates", "advance"]);
  });

  it("a follower persists before sending (its acknowledgements and votes must be durable)", () => {
    assert.deepEqual(kinds(rd, false), ["persist", "appendToLog", "send", "apply", "readStates", "advance"]);
  });

  it("a snapshot is persisted before the entries after it, installed before they reach raft's log; no early send with one", () => {
    const snapshot = { data: new Uint8Array(), metadata: { index: 5, term: 1, confState: { voters: [1n], learners: [] } } } as Snapshot;
    assert.deepEqual(kinds({ ...rd, snapshot }, true), ["persistSnapshot", "persist", "installSnapshot", "appendToLog", "send", "apply", "readStates", "advance"]);
  });

  it("a leader's Ready that appends nothing and commits only its own clients' entries applies first, then sends", () => {
    const commit = ready({ hardState: { term: 1, vote: 1n, commit: 2 }, committedEntries: [entry(2)], messages: [msg(MessageType.App), msg(MessageType.App)] });
    assert.deepEqual(kinds(commit, true, true), ["persist", "appendToLog", "apply", "send-after-answers", "advance"]);
    assert.deepEqual(kinds(commit, true, false), ["send-early", "persist", "appendToLog", "apply", "advance"], "entries of other members' clients: the commit goes out first");
    assert.deepEqual(kinds(rd, true, true), ["send-early", "persist", "appendToLog", "apply", "readStates", "advance"], "new entries to replicate: sent first");
    assert.deepEqual(kinds(commit, false, true), ["persist", "appendToLog", "send", "apply", "advance"], "a follower: unchanged");
  });

  it("the soft state comes first and decides the role", () => {
    const becameLeader = ready({ softState: { lead: 1n, raftState: StateType.Leader }, messages: [msg(MessageType.App)] });
    assert.equal(leadsAfter(becameLeader, false), true);
    assert.deepEqual(kinds(becameLeader, leadsAfter(becameLeader, false)), ["softState", "send-early", "advance"]);
    assert.equal(leadsAfter(ready({}), true), true, "no soft state: the role is unchanged");
  });
});

describe("the simulation drives the plan", () => {
  it("a leader that crashes after its early send, before writing, loses no committed entry; the others commit it", () => {
    const c = new Cluster({ ids: [1n, 2n, 3n], seed: 7 });
    c.stabilize();
    c.elect(1n);
    c.propose(1n, "early");
    const leader = c.member(1n);
    // the next Ready's plan: [send-early, persist, appendToLog, ...]: crash after the first step
    leader.crashAfterSteps = 1;
    c.processReady(leader);
    assert.equal(leader.alive, false, "the leader crashed in the middle of its Ready");
    const stored = leader.storage.entries(leader.storage.firstIndex(), leader.storage.lastIndex() + 1, Infinity);
    assert.ok(!stored.some((e) => dec(e.data) === "early"), "the entry never reached the leader's storage");
    c.stabilize();
    // the followers got the append before the crash: a new leader commits it
    assert.ok(c.runUntil(() => c.leader() !== undefined && c.userData(c.leader()!).includes("early"), 200), "a new leader commits the entry the old one sent");
    c.restart(1n);
    assert.ok(c.runUntil(() => c.userData(1n).includes("early"), 200), "the old leader catches up");
    c.checkInvariants();
  });

  it("the persistence checker refuses a follower message sent before its state is durable", () => {
    const c = new Cluster({ ids: [1n, 2n, 3n], seed: 3 });
    c.stabilize();
    c.node(1n).campaign();
    c.processReady(c.member(1n)); // MsgVote to 2 and 3
    c.deliverDue();
    const voter = c.member(2n);
    // 2 has a Ready with its vote (term, vote) and the MsgVoteResp: run it as if it led, sending first
    voter.leader = true;
    assert.throws(() => c.processReady(voter), /Persistence order: member 2 sends VoteResp/);
  });
});
