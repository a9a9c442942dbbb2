import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrProposalDropped, type Message, MessageType, StateType } from "../../server/raft/types.js";
import { enc } from "./helpers.js";
import { Cluster } from "./sim/cluster.js";

const ids3 = [1n, 2n, 3n];

describe("leader transfer", () => {
  for (const opts of [{}, { preVote: true, checkQuorum: true }]) {
    it(`to an up-to-date follower: MsgTimeoutNow at once, it wins term+1 ${JSON.stringify(opts)}`, () => {
      const c = new Cluster({ ids: ids3, config: opts });
      c.stabilize();
      c.elect(1n);
      const sent: Message[] = [];
      c.onReady = (m, rd) => {
        if (m.id === 1n) sent.push(...rd.messages);
      };
      c.node(1n).transferLeader(2n);
      c.stabilize();
      assert.ok(sent.some((m) => m.type === MessageType.TimeoutNow && m.to === 2n));
      assert.equal(c.state(2n), StateType.Leader);
      assert.equal(c.term(2n), 3);
      assert.equal(c.state(1n), StateType.Follower);
      assert.equal(c.node(1n).status().softState.lead, 2n);
    });
  }

  it("to a lagging follower: it is caught up first, then MsgTimeoutNow", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.isolate(3n);
    for (let i = 0; i < 5; i++) c.propose(1n, `v${i}`);
    c.stabilize();
    c.node(1n).reportUnreachable(3n);
    c.node(1n).transferLeader(3n);
    c.stabilize();
    assert.equal(c.node(1n).status().leadTransferee, 3n);
    assert.equal(c.state(1n), StateType.Leader);
    c.heal();
    c.runUntil(() => c.state(3n) === StateType.Leader, 5);
    assert.equal(c.state(3n), StateType.Leader);
    assert.equal(c.userData(3n).length, 5);
  });

  it("proposals are dropped while a transfer is in progress", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.isolate(3n);
    c.node(1n).transferLeader(3n);
    c.stabilize();
    assert.throws(() => c.propose(1n, "x"), (e) => e === ErrProposalDropped);
  });

  it("is aborted after an election timeout when the transferee does not take over", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.isolate(3n);
    c.node(1n).transferLeader(3n);
    c.stabilize();
    assert.equal(c.node(1n).status().leadTransferee, 3n);
    c.tick(1n, 10);
    c.stabilize();
    assert.equal(c.node(1n).status().leadTransferee, 0n);
    assert.equal(c.state(1n), StateType.Leader);
    c.propose(1n, "after-abort");
    c.stabilize();
    assert.deepEqual(c.userData(2n), ["after-abort"]);
  });

  it("a request made on a follower is forwarded to the leader", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.node(3n).transferLeader(3n);
    c.stabilize();
    assert.equal(c.state(3n), StateType.Leader);
  });

  it("a transfer to itself or to a learner is ignored", () => {
    const c = new Cluster({ ids: [1n, 2n, 3n], voters: [1n, 2n] });
    c.stabilize();
    c.elect(1n);
    c.node(1n).proposeConfChange({ type: 3 /* AddLearnerNode */, nodeId: 3n, context: enc("") });
    c.runUntil(() => c.member(3n).confState.learners.includes(3n), 10);
    c.node(1n).transferLeader(1n);
    c.node(1n).transferLeader(3n);
    c.stabilize();
    assert.equal(c.node(1n).status().leadTransferee, 0n);
    assert.equal(c.state(1n), StateType.Leader);
  });

  it("a second request for another node replaces the first", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.isolate(3n);
    c.node(1n).transferLeader(3n);
    c.stabilize();
    c.node(1n).transferLeader(2n);
    c.stabilize();
    assert.equal(c.state(2n), StateType.Leader);
  });
});
