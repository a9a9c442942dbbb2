import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Inflights } from "../../server/raft/inflights.js";
import { PeerProgress, ProgressTracker } from "../../server/raft/progress.js";
import { committedIndex, VoteResult, voteResult } from "../../server/raft/quorum.js";
import { ConfChangeType } from "../../server/raft/types.js";
import { enc } from "./helpers.js";

describe("quorum", () => {
  it("committedIndex is the highest index acked by a majority of voters", () => {
    const acked = (m: Record<string, number>) => (id: bigint) => m[String(id)] ?? 0;
    assert.equal(committedIndex(new Set([1n]), acked({ 1: 5 })), 5);
    assert.equal(committedIndex(new Set([1n, 2n]), acked({ 1: 5, 2: 3 })), 3);
    assert.equal(committedIndex(new Set([1n, 2n, 3n]), acked({ 1: 5, 2: 3, 3: 9 })), 5);
    assert.equal(committedIndex(new Set([1n, 2n, 3n]), acked({ 1: 5 })), 0);
    assert.equal(committedIndex(new Set([1n, 2n, 3n, 4n]), acked({ 1: 5, 2: 6, 3: 7, 4: 1 })), 5);
    assert.equal(committedIndex(new Set([1n, 2n, 3n, 4n, 5n]), acked({ 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 })), 3);
    assert.equal(committedIndex(new Set(), acked({})), 0);
  });

  it("voteResult: won / pending / lost", () => {
    const v = new Set([1n, 2n, 3n]);
    assert.equal(voteResult(v, new Map([[1n, true]])), VoteResult.Pending);
    assert.equal(voteResult(v, new Map([[1n, true], [2n, true]])), VoteResult.Won);
    assert.equal(voteResult(v, new Map([[1n, true], [2n, false], [3n, false]])), VoteResult.Lost);
    assert.equal(voteResult(v, new Map([[9n, true], [8n, true]])), VoteResult.Pending, "non-voters do not count");
    assert.equal(voteResult(new Set(), undefined), VoteResult.Won);
  });
});

describe("inflights", () => {
  it("adds, frees up to an index, frees the first one, wraps around", () => {
    const i = new Inflights(3);
    i.add(1);
    i.add(2);
    i.add(3);
    assert.equal(i.full(), true);
    assert.throws(() => i.add(4));
    i.freeLE(2);
    assert.equal(i.length(), 1);
    i.add(4);
    i.add(5);
    assert.equal(i.full(), true);
    i.freeFirstOne();
    assert.equal(i.length(), 2);
    i.freeLE(1); // stale
    assert.equal(i.length(), 2);
    i.freeLE(100);
    assert.equal(i.length(), 0);
  });
});

describe("progress", () => {
  it("probe: one message at a time; rejection of the latest probe backs off using the hint", () => {
    const p = new PeerProgress(11, 4, false);
    assert.equal(p.isPaused(), false);
    p.probeSent = true;
    assert.equal(p.isPaused(), true);
    assert.equal(p.maybeDecrTo(9, 5), false, "stale rejection (not next-1)");
    assert.equal(p.maybeDecrTo(10, 5), true);
    assert.equal(p.next, 6);
    assert.equal(p.isPaused(), false);
  });

  it("replicate: rejection moves next back to match+1; stale rejections ignored", () => {
    const p = new PeerProgress(1, 4, false);
    p.maybeUpdate(5);
    p.becomeReplicate();
    p.optimisticUpdate(9);
    assert.equal(p.maybeDecrTo(4, 0), false);
    assert.equal(p.maybeDecrTo(8, 0), true);
    assert.equal(p.next, 6);
  });

  it("snapshot: paused; becomeProbe resumes after the snapshot", () => {
    const p = new PeerProgress(1, 4, false);
    p.becomeSnapshot(20);
    assert.equal(p.isPaused(), true);
    p.becomeProbe();
    assert.equal(p.next, 21);
  });

  it("tracker: add / promote / demote / remove; removing the last voter throws", () => {
    const t = new ProgressTracker(8);
    t.restore({ voters: [1n], learners: [] }, 10);
    t.applyConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 2n, context: enc("") }, 10);
    assert.deepEqual(t.confState(), { voters: [1n], learners: [2n] });
    t.applyConfChange({ type: ConfChangeType.AddNode, nodeId: 2n, context: enc("") }, 10);
    assert.deepEqual(t.confState(), { voters: [1n, 2n], learners: [] });
    assert.equal(t.progress.get(2n)!.isLearner, false);
    t.applyConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 2n, context: enc("") }, 10);
    assert.deepEqual(t.confState(), { voters: [1n], learners: [2n] });
    t.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 2n, context: enc("") }, 10);
    t.applyConfChange({ type: ConfChangeType.UpdateNode, nodeId: 1n, context: enc("") }, 10);
    assert.deepEqual(t.confState(), { voters: [1n], learners: [] });
    assert.throws(() => t.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 1n, context: enc("") }, 10));
    assert.throws(() => t.applyConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 1n, context: enc("") }, 10));
  });
});
