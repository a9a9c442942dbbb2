import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryStorage } from "../../server/raft/memory-storage.js";
import { RawNode } from "../../server/raft/raw-node.js";
import {
  ConfChangeType,
  EntryType,
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrSnapshotTemporarilyUnavailable,
  ErrUnavailable,
  type Message,
  MessageType,
  type Ready,
} from "../../server/raft/types.js";
import { makeMessage } from "../../server/raft/util.js";
import { config, enc } from "./helpers.js";
import { Cluster } from "./sim/cluster.js";

const ids3 = [1n, 2n, 3n];

function ents(from: number, to: number, term = 1) {
  const out = [];
  for (let i = from; i <= to; i++) out.push({ term, index: i, type: EntryType.Normal, data: enc(`e${i}`) });
  return out;
}

describe("MemoryStorage", () => {
  it("entries / term / first / last with a dummy entry at the snapshot point", () => {
    const s = new MemoryStorage();
    assert.equal(s.firstIndex(), 1);
    assert.equal(s.lastIndex(), 0);
    assert.equal(s.term(0), 0);
    assert.throws(() => s.entries(1, 1, Infinity), (e) => e === ErrUnavailable);
    s.append(ents(1, 5));
    assert.equal(s.lastIndex(), 5);
    assert.deepEqual(s.entries(2, 4, Infinity).map((e) => e.index), [2, 3]);
    assert.throws(() => s.term(6), (e) => e === ErrUnavailable);
    s.createSnapshot(3, { voters: [1n], learners: [] }, enc("d"));
    s.compact(3);
    assert.equal(s.firstIndex(), 4);
    assert.equal(s.term(3), 1);
    assert.throws(() => s.term(2), (e) => e === ErrCompacted);
    assert.throws(() => s.entries(3, 5, Infinity), (e) => e === ErrCompacted);
    assert.throws(() => s.compact(2), (e) => e === ErrCompacted);
    assert.throws(() => s.createSnapshot(2, undefined, enc("")), (e) => e === ErrSnapOutOfDate);
  });

  it("entries respects maxSize but returns at least one entry", () => {
    const s = new MemoryStorage();
    s.append(ents(1, 10)); // each 21 + 2..3 bytes
    assert.equal(s.entries(1, 11, 0).length, 1);
    assert.equal(s.entries(1, 11, 47).length, 2);
    assert.equal(s.entries(1, 11, Infinity).length, 10);
  });

  it("append truncates a conflicting suffix and ignores compacted entries", () => {
    const s = new MemoryStorage();
    s.append(ents(1, 5));
    s.append(ents(4, 6, 2));
    assert.deepEqual(s.entries(1, 7, Infinity).map((e) => e.term), [1, 1, 1, 2, 2, 2]);
    s.createSnapshot(4, undefined, enc(""));
    s.compact(4);
    s.append(ents(2, 7, 2)); // 2..4 ignored
    assert.equal(s.lastIndex(), 7);
    assert.throws(() => s.append(ents(9, 9)));
  });

  it("applySnapshot replaces the log", () => {
    const s = new MemoryStorage();
    s.append(ents(1, 3));
    s.applySnapshot({ metadata: { index: 10, term: 4, confState: { voters: [1n, 2n], learners: [] } }, data: enc("x") });
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.lastIndex(), 10);
    assert.equal(s.term(10), 4);
    assert.deepEqual(s.initialState().confState.voters, [1n, 2n]);
    assert.throws(
      () => s.applySnapshot({ metadata: { index: 5, term: 4, confState: { voters: [], learners: [] } }, data: enc("") }),
      (e) => e === ErrSnapOutOfDate,
    );
  });
});

describe("snapshots", () => {
  it("a follower behind the compacted log gets MsgSnap, restores it (Ready.snapshot) and catches up", () => {
    const c = new Cluster({ ids: ids3, member: { snapshotEvery: 5 } });
    c.stabilize();
    c.elect(1n);
    c.isolate(3n);
    for (let i = 0; i < 20; i++) c.propose(1n, `v${i}`);
    c.stabilize();
    assert.ok(c.member(1n).storage.firstIndex() > 5, "leader compacted its log");
    const snaps: Ready[] = [];
    const leaderMsgs: Message[] = [];
    c.onReady = (m, rd) => {
      if (m.id === 3n && rd.snapshot) snaps.push(rd);
      if (m.id === 1n) leaderMsgs.push(...rd.messages);
    };
    c.heal();
    c.node(1n).reportUnreachable(3n);
    c.runUntil(() => c.userData(3n).length === 20, 10);
    assert.equal(snaps.length, 1);
    const rd = snaps[0]!;
    assert.ok(rd.snapshot!.metadata.index > 5);
    assert.deepEqual(rd.snapshot!.metadata.confState, { voters: ids3, learners: [] });
    assert.equal(rd.hardState?.commit, rd.snapshot!.metadata.index);
    assert.equal(leaderMsgs.filter((m) => m.type === MessageType.Snap).length, 1);
    assert.deepEqual(c.userData(3n), c.userData(1n));
    assert.equal(c.node(1n).status().progress!.get(3n)!.state, "replicate");
    // 3 keeps replicating normally afterwards.
    c.propose(1n, "after");
    c.stabilize();
    assert.equal(c.userData(3n).at(-1), "after");
  });

  it("a failed snapshot (reportSnapshot false) is retried after the follower answers a heartbeat", () => {
    const c = new Cluster({ ids: ids3, member: { snapshotEvery: 5 } });
    c.stabilize();
    c.elect(1n);
    c.isolate(3n);
    for (let i = 0; i < 12; i++) c.propose(1n, `v${i}`);
    c.stabilize();
    c.heal();
    let snapsSent = 0;
    c.onReady = (m, rd) => {
      if (m.id === 1n) snapsSent += rd.messages.filter((x) => x.type === MessageType.Snap).length;
    };
    // The first snapshot is lost (the network reports the failure to the leader).
    let dropNext = true;
    c.net.filter = (m) => {
      if (m.type === MessageType.Snap && dropNext) {
        dropNext = false;
        return false;
      }
      return true;
    };
    c.node(1n).reportUnreachable(3n);
    c.runUntil(() => c.userData(3n).length === 12, 10);
    assert.equal(snapsSent, 2);
    assert.deepEqual(c.userData(3n), c.userData(1n));
  });

  it("no snapshot is sent to a follower that is not recently active; a temporarily unavailable snapshot is retried", () => {
    const s = new MemoryStorage();
    const n = new RawNode(config(1n, s));
    n.bootstrap(ids3.map((id) => ({ id, context: enc("") })));
    let rd = n.ready();
    s.append(rd.entries);
    s.setHardState(rd.hardState!);
    for (const e of rd.committedEntries) n.applyConfChange({ type: ConfChangeType.AddNode, nodeId: BigInt(e.index), context: enc("") });
    n.advance(rd);
    n.campaign();
    n.step(makeMessage({ type: MessageType.VoteResp, from: 2n, to: 1n, term: 2 }));
    rd = n.ready();
    s.append(rd.entries);
    s.setHardState(rd.hardState!);
    n.advance(rd);
    n.step(makeMessage({ type: MessageType.AppResp, from: 2n, to: 1n, term: 2, index: 4 }));
    rd = n.ready();
    s.append(rd.entries);
    s.setHardState(rd.hardState!);
    n.advance(rd);
    assert.equal(n.status().hardState.commit, 4);
    s.createSnapshot(4, { voters: ids3, learners: [] }, enc("sm"));
    s.compact(4);
    // Peer 3 rejects everything: needs a snapshot.
    const origSnapshot = s.snapshot.bind(s);
    let unavailable = true;
    s.snapshot = () => {
      if (unavailable) throw ErrSnapshotTemporarilyUnavailable;
      return origSnapshot();
    };
    n.step(makeMessage({ type: MessageType.AppResp, from: 3n, to: 1n, term: 2, index: 3, reject: true, rejectHint: 0 }));
    rd = n.ready();
    assert.equal(rd.messages.filter((m) => m.type === MessageType.Snap).length, 0);
    n.advance(rd);
    unavailable = false;
    n.step(makeMessage({ type: MessageType.HeartbeatResp, from: 3n, to: 1n, term: 2 }));
    rd = n.ready();
    const snap = rd.messages.find((m) => m.type === MessageType.Snap);
    assert.ok(snap);
    assert.equal(snap.snapshot!.metadata.index, 4);
    assert.equal(n.status().progress!.get(3n)!.state, "snapshot");
    n.advance(rd);
    n.reportSnapshot(3n, true);
    assert.equal(n.status().progress!.get(3n)!.state, "probe");
    assert.equal(n.status().progress!.get(3n)!.next, 5);
  });

  it("a follower ignores a snapshot older than its commit index, and fast-forwards when it has the entries", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    c.propose(1n, "a");
    c.stabilize();
    const n3 = c.node(3n);
    const commit = n3.status().hardState.commit;
    n3.step(
      makeMessage({
        type: MessageType.Snap,
        from: 1n,
        to: 3n,
        term: 2,
        snapshot: { metadata: { index: commit - 1, term: 2, confState: { voters: ids3, learners: [] } }, data: enc("[]") },
      }),
    );
    const rd = n3.ready();
    assert.equal(rd.snapshot, undefined);
    assert.deepEqual(rd.messages.map((m) => [m.type, m.index]), [[MessageType.AppResp, commit]]);
    n3.advance(rd);
  });

  it("reportUnreachable moves a replicating follower back to probe", () => {
    const c = new Cluster({ ids: ids3 });
    c.stabilize();
    c.elect(1n);
    assert.equal(c.node(1n).status().progress!.get(2n)!.state, "replicate");
    c.node(1n).reportUnreachable(2n);
    assert.equal(c.node(1n).status().progress!.get(2n)!.state, "probe");
  });
});
