import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeConfChange } from "../../server/raft/conf-change-codec.js";
import { MemoryStorage } from "../../server/raft/memory-storage.js";
import { RawNode } from "../../server/raft/raw-node.js";
import {
  ConfChangeType,
  EntryType,
  ErrProposalDropped,
  ErrStepLocalMsg,
  MessageType,
  StateType,
} from "../../server/raft/types.js";
import { makeMessage } from "../../server/raft/util.js";
import { config, dec, drain, enc, handleReady } from "./helpers.js";

describe("single voter", () => {
  it("bootstrap: first Ready carries the conf change entries, committed, with hardState {1,0,n}", () => {
    const s = new MemoryStorage();
    const n = new RawNode(config(1n, s));
    n.bootstrap([{ id: 1n, context: enc("m1") }]);
    assert.equal(n.hasReady(), true);
    const rd = n.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: 0n, commit: 1 });
    assert.equal(rd.entries.length, 1);
    assert.equal(rd.committedEntries.length, 1);
    assert.equal(rd.mustSync, true);
    const e = rd.entries[0]!;
    assert.equal(e.type, EntryType.ConfChange);
    assert.equal(e.index, 1);
    assert.equal(e.term, 1);
    const cc = decodeConfChange(e.data);
    assert.equal(cc.type, ConfChangeType.AddNode);
    assert.equal(cc.nodeId, 1n);
    assert.equal(dec(cc.context), "m1");
    assert.equal(rd.messages.length, 0);
    // Exactly one Ready outstanding.
    assert.equal(n.hasReady(), false);
    assert.throws(() => n.ready());
    s.append(rd.entries);
    s.setHardState(rd.hardState!);
    assert.deepEqual(n.applyConfChange(cc), { voters: [1n], learners: [] });
    n.advance(rd);
    assert.equal(n.hasReady(), false);
    assert.equal(n.status().applied, 1);
  });

  it("bootstrap refuses non-empty storage and empty peers", () => {
    const s = new MemoryStorage();
    s.append([{ term: 1, index: 1, type: EntryType.Normal, data: enc("x") }]);
    const n = new RawNode(config(1n, s));
    assert.throws(() => n.bootstrap([{ id: 1n, context: enc("") }]));
    const n2 = new RawNode(config(1n, new MemoryStorage()));
    assert.throws(() => n2.bootstrap([]));
  });

  for (const preVote of [false, true]) {
    it(`campaign (preVote=${preVote}): term 1 -> 2, leader, empty entry committed`, () => {
      const s = new MemoryStorage();
      const n = new RawNode(config(1n, s, { preVote }));
      n.bootstrap([{ id: 1n, context: enc("") }]);
      drain(n, s);
      n.campaign();
      assert.equal(n.hasReady(), true);
      const h = handleReady(n, s);
      assert.deepEqual(h.ready.softState, { lead: 1n, raftState: StateType.Leader });
      assert.deepEqual(h.ready.hardState, { term: 2, vote: 1n, commit: 2 });
      assert.equal(h.ready.entries.length, 1);
      assert.equal(h.ready.entries[0]!.term, 2);
      assert.equal(h.ready.entries[0]!.data.length, 0);
      assert.equal(h.ready.committedEntries.length, 1);
      assert.equal(h.ready.messages.length, 0);
      const st = n.status();
      assert.equal(st.softState.raftState, StateType.Leader);
      assert.equal(st.hardState.term, 2);
      assert.equal(st.applied, 2);
      assert.equal(st.progress?.get(1n)?.match, 2);
      assert.equal(n.hasReady(), false);
    });
  }

  it("propose -> Ready with entries + committedEntries in the same batch", () => {
    const s = new MemoryStorage();
    const n = new RawNode(config(1n, s));
    n.bootstrap([{ id: 1n, context: enc("") }]);
    drain(n, s);
    n.campaign();
    drain(n, s);
    n.propose(enc("a"));
    n.propose(enc("b"));
    const h = handleReady(n, s);
    assert.deepEqual(
      h.ready.entries.map((e) => [e.index, e.term, dec(e.data)]),
      [
        [3, 2, "a"],
        [4, 2, "b"],
      ],
    );
    assert.deepEqual(
      h.ready.committedEntries.map((e) => dec(e.data)),
      ["a", "b"],
    );
    assert.deepEqual(h.ready.hardState, { term: 2, vote: 1n, commit: 4 });
    assert.equal(h.ready.mustSync, true);
    assert.equal(s.lastIndex(), 4);
    assert.equal(n.hasReady(), false);
    // The Ready's entries are a stable view: later proposals do not change them.
    const rd0 = h.ready.entries;
    n.propose(enc("c"));
    assert.equal(rd0.length, 2);
    const h2 = handleReady(n, s);
    assert.deepEqual(h2.ready.entries.map((e) => dec(e.data)), ["c"]);
    assert.equal(h2.ready.mustSync, true);
  });

  it("commit-only hard state changes do not require sync", () => {
    const s = new MemoryStorage();
    const n = new RawNode(config(1n, s));
    n.bootstrap([{ id: 1n, context: enc("") }]);
    drain(n, s);
    n.campaign();
    drain(n, s);
    // Ready without entries but with a read state -> mustSync false
    n.readIndex(enc("r1"));
    const h = handleReady(n, s);
    assert.equal(h.ready.mustSync, false);
    assert.deepEqual(h.ready.readStates.map((r) => [r.index, dec(r.requestCtx)]), [[2, "r1"]]);
  });

  it("propose without a leader throws ErrProposalDropped", () => {
    const s = new MemoryStorage();
    const n = new RawNode(config(1n, s));
    n.bootstrap([{ id: 1n, context: enc("") }]);
    drain(n, s);
    assert.throws(() => n.propose(enc("x")), (e) => e === ErrProposalDropped);
  });

  it("step rejects local message types", () => {
    const n = new RawNode(config(1n, new MemoryStorage()));
    assert.throws(() => n.step(makeMessage({ type: MessageType.Hup, from: 1n, to: 1n })), (e) => e === ErrStepLocalMsg);
    assert.throws(() => n.step(makeMessage({ type: MessageType.Beat })), (e) => e === ErrStepLocalMsg);
  });

  it("elects itself by ticking past the election timeout", () => {
    const s = new MemoryStorage();
    const n = new RawNode(config(1n, s, { electionTick: 5 }));
    n.bootstrap([{ id: 1n, context: enc("") }]);
    drain(n, s);
    for (let i = 0; i < 10 && n.status().softState.raftState !== StateType.Leader; i++) n.tick();
    assert.equal(n.status().softState.raftState, StateType.Leader);
  });

  it("restarts from persisted MemoryStorage (hard state + entries) and keeps going", () => {
    const s = new MemoryStorage();
    const n = new RawNode(config(1n, s));
    n.bootstrap([{ id: 1n, context: enc("") }]);
    drain(n, s);
    n.campaign();
    drain(n, s);
    n.propose(enc("a"));
    n.propose(enc("b"));
    const applied1 = drain(n, s).applied.map((e) => dec(e.data));
    assert.deepEqual(applied1, ["a", "b"]);
    // An unpersisted proposal is lost by the "crash".
    n.propose(enc("lost"));

    // Restart: the state machine was not persisted (applied = 0): everything is re-delivered,
    // including the bootstrap conf change, which restores the voter set.
    const n2 = new RawNode(config(1n, s));
    const st = n2.status();
    assert.deepEqual(st.hardState, { term: 2, vote: 1n, commit: 4 });
    assert.equal(st.softState.raftState, StateType.Follower);
    const h = drain(n2, s);
    assert.deepEqual(
      h.applied.map((e) => [e.index, e.type, dec(e.data)]),
      [
        [1, EntryType.ConfChange, dec(h.applied[0]!.data)],
        [2, EntryType.Normal, ""],
        [3, EntryType.Normal, "a"],
        [4, EntryType.Normal, "b"],
      ],
    );
    n2.campaign();
    const h2 = handleReady(n2, s);
    assert.deepEqual(h2.ready.hardState, { term: 3, vote: 1n, commit: 5 });
    n2.propose(enc("c"));
    assert.deepEqual(drain(n2, s).applied.map((e) => [e.index, dec(e.data)]), [[6, "c"]]);
  });

  it("restart with config.applied skips already-applied entries", () => {
    const s = new MemoryStorage();
    const n = new RawNode(config(1n, s));
    n.bootstrap([{ id: 1n, context: enc("") }]);
    drain(n, s);
    n.campaign();
    drain(n, s);
    n.propose(enc("a"));
    n.propose(enc("b"));
    drain(n, s);
    // The application persisted its state up to index 3 and a snapshot with the conf state.
    s.createSnapshot(3, { voters: [1n], learners: [] }, enc("sm@3"));
    s.compact(3);
    const n2 = new RawNode(config(1n, s, { applied: 3 }));
    const h = drain(n2, s);
    assert.deepEqual(h.applied.map((e) => [e.index, dec(e.data)]), [[4, "b"]]);
    n2.campaign();
    drain(n2, s);
    assert.equal(n2.status().softState.raftState, StateType.Leader);
    assert.equal(n2.status().hardState.term, 3);
  });
});
