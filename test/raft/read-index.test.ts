import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Message, MessageType, StateType } from "../../server/raft/types.js";
import { dec, enc } from "./helpers.js";
import { Cluster } from "./sim/cluster.js";

const ids3 = [1n, 2n, 3n];

function reads(c: Cluster, id: bigint): [number, string][] {
  return c.member(id).readStates.map((r) => [r.index, dec(r.requestCtx)]);
}

describe("ReadIndex", () => {
  it("leader: the ReadState is released after a heartbeat round confirms leadership", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.propose(1n, "w");
    c.stabilize();
    const commit = c.node(1n).status().hardState.commit;
    const sent: Message[] = [];
    c.onReady = (m, rd) => {
      if (m.id === 1n) sent.push(...rd.messages);
    };
    c.node(1n).readIndex(enc("req-1"));
    assert.equal(c.member(1n).readStates.length, 0);
    c.stabilize();
    const hbs = sent.filter((m) => m.type === MessageType.Heartbeat);
    assert.equal(hbs.length, 2);
    assert.ok(hbs.every((m) => dec(m.context) === "req-1"));
    assert.deepEqual(reads(c, 1n), [[commit, "req-1"]]);
  });

  it("leader: no ReadState without a quorum of heartbeat acks; released once acks arrive", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.net.dropTypes.add(MessageType.HeartbeatResp);
    c.node(1n).readIndex(enc("r"));
    c.stabilize();
    assert.deepEqual(reads(c, 1n), []);
    c.net.dropTypes.clear();
    // The next heartbeat carries the newest pending context.
    c.tickAll();
    c.stabilize();
    assert.deepEqual(reads(c, 1n), [[4, "r"]]);
  });

  it("an acked later request releases earlier ones too (FIFO)", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.net.dropTypes.add(MessageType.HeartbeatResp);
    c.node(1n).readIndex(enc("a"));
    c.node(1n).readIndex(enc("b"));
    c.stabilize();
    c.net.dropTypes.clear();
    c.tickAll();
    c.stabilize();
    assert.deepEqual(reads(c, 1n), [
      [4, "a"],
      [4, "b"],
    ]);
  });

  it("follower: the request is forwarded to the leader and the ReadState comes back", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.propose(1n, "w1");
    c.stabilize();
    c.node(2n).readIndex(enc("f"));
    c.stabilize();
    assert.deepEqual(reads(c, 2n), [[5, "f"]]);
    assert.deepEqual(reads(c, 1n), []);
  });

  it("follower without a leader drops the request (the client retries)", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.node(2n).readIndex(enc("f"));
    c.stabilize();
    assert.deepEqual(reads(c, 2n), []);
  });

  it("a new leader defers reads until it has committed an entry of its term", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    // 1 wins the election but its MsgApps (the empty entry) do not get through.
    c.net.dropTypes.add(MessageType.App);
    c.elect(1n);
    assert.equal(c.node(1n).status().hardState.commit, 3);
    c.node(1n).readIndex(enc("early"));
    c.stabilize();
    assert.deepEqual(reads(c, 1n), [], "must not serve a read at the previous term's commit index");
    assert.equal(c.node(1n).raft.pendingReadIndexMessages.length, 1);
    c.net.dropTypes.clear();
    c.tickAll();
    c.stabilize();
    // Released at an index that includes the leader's empty entry.
    assert.deepEqual(reads(c, 1n), [[4, "early"]]);
  });

  it("single voter: released immediately at the commit index", () => {
    const c = new Cluster({ ids: [1n] });
    c.stabilize();
    c.elect(1n);
    c.node(1n).readIndex(enc("solo"));
    c.stabilize();
    assert.deepEqual(reads(c, 1n), [[2, "solo"]]);
  });

  it("pending reads are dropped when the leader steps down", () => {
    const c = new Cluster({ ids: ids3, config: { checkQuorum: true } });
    c.stabilize();
    c.elect(1n);
    c.isolate(1n);
    c.node(1n).readIndex(enc("r"));
    for (let i = 0; i < 25 && c.state(1n) === StateType.Leader; i++) {
      c.tick(1n);
      c.stabilize();
    }
    assert.equal(c.state(1n), StateType.Follower);
    c.heal();
    c.runUntil(() => c.leaderIds().length === 1, 50);
    assert.deepEqual(reads(c, 1n), []);
  });
});
