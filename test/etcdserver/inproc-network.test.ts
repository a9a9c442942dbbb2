/**
 * The in-process harness's fake peer network (test/support/inproc/network.ts) on its own: each
 * fault control does what it says, so that a test built on it cannot pass because a control did
 * nothing. Receivers here only record what arrives; no member, no raft. Then the same controls on
 * three real members: a dropped MsgApp is never delivered and raft sends the entry again; a delayed
 * link delivers after exactly its ticks.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { FakeNetwork, type NetworkReceiver } from "../support/inproc/network.js";
import { InprocCluster, type InprocMember } from "../support/inproc/cluster.js";
import { ManualClock, settle } from "../support/manual-clock.js";
import { get, put } from "../support/inproc/requests.js";
import type { PeerTransport } from "../../server/embed/compose.js";
import type { Member } from "../../server/membership/cluster.js";
import { MessageType, type Message } from "../../server/raft/types.js";

const IDS = [1n, 2n, 3n];

/** A message numbered by `index`, so that the order of arrival can be read off. */
function msg(from: bigint, to: bigint, index: number, type = MessageType.App): Message {
  return { type, from, to, term: 1, logTerm: 1, index, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array(), commitOnly: false };
}

interface Lab {
  net: FakeNetwork;
  /** What each member received: "from>index". */
  got: Map<bigint, string[]>;
  unreachable: Array<[bigint, bigint]>;
  send(from: bigint, to: bigint, ...indexes: number[]): void;
  /** A few event-loop turns: what is due now is delivered. */
  flush(): Promise<void>;
}

function lab(): Lab {
  const net = new FakeNetwork(new ManualClock());
  const got = new Map<bigint, string[]>();
  const unreachable: Array<[bigint, bigint]> = [];
  const members: Member[] = IDS.map((id) => ({ id, name: `m${id}`, peerUrls: [], clientUrls: [], isLearner: false }));
  const transports = new Map<bigint, PeerTransport>();
  for (const id of IDS) {
    got.set(id, []);
    const receiver: NetworkReceiver = {
      isMember: (x) => IDS.includes(x),
      receive: (m) => void got.get(id)!.push(`${m.from}>${m.index}`),
      receiveSnapshot: async () => undefined,
      snapshotDir: () => "/nonexistent",
    };
    net.attach(id, receiver);
    const t = net.transportFor(id)({
      reportUnreachable: (to) => void unreachable.push([id, to]),
      reportSnapshot: () => undefined,
      onRemoved: () => undefined,
      backendCopy: async () => "/nonexistent",
    });
    t.setPeers(members);
    transports.set(id, t);
  }
  return {
    net,
    got,
    unreachable,
    send: (from, to, ...indexes) => transports.get(from)!.send(indexes.map((i) => msg(from, to, i))),
    flush: async () => {
      for (let i = 0; i < 5; i++) await settle();
    },
  };
}

describe("FakeNetwork: each fault control does what it promises", () => {
  test("without faults every message arrives, in the order sent, on a later turn (never inside send)", async () => {
    const l = lab();
    l.send(1n, 2n, 1, 2, 3);
    assert.deepEqual(l.got.get(2n), [], "not delivered inside the sender's call");
    await l.flush();
    assert.deepEqual(l.got.get(2n), ["1>1", "1>2", "1>3"]);
    assert.equal(l.net.stats.delivered, 3);
  });

  test("delay(from, to, 3): arrives on the third tick, not before; the other direction and other links are not delayed", async () => {
    const l = lab();
    l.net.delay(1n, 2n, 3);
    l.send(1n, 2n, 1);
    l.send(2n, 1n, 2);
    l.send(1n, 3n, 3);
    await l.flush();
    assert.deepEqual(l.got.get(2n), [], "held at once");
    assert.deepEqual(l.got.get(1n), ["2>2"], "the reverse direction is not delayed");
    assert.deepEqual(l.got.get(3n), ["1>3"], "another link is not delayed");
    assert.equal(l.net.busy(), false, "held messages wait for ticks: the network is quiet");
    for (const tick of [1, 2]) {
      l.net.onTick();
      await l.flush();
      assert.deepEqual(l.got.get(2n), [], `not after ${tick} tick(s)`);
    }
    l.net.onTick();
    await l.flush();
    assert.deepEqual(l.got.get(2n), ["1>1"], "after the third tick");
  });

  test("a delayed link keeps its order: later messages never overtake earlier ones, even after the delay is lifted", async () => {
    const l = lab();
    l.net.delay(1n, 2n, 3);
    l.send(1n, 2n, 1);
    l.net.onTick();
    l.send(1n, 2n, 2); // due a tick after 1
    l.net.delay(1n, 2n, 0);
    l.send(1n, 2n, 3); // undelayed now, but behind 1 and 2 on the same link
    await l.flush();
    assert.deepEqual(l.got.get(2n), [], "3 waits behind the held messages of its link");
    l.net.heal();
    l.send(1n, 2n, 4);
    for (let i = 0; i < 4; i++) {
      l.net.onTick();
      await l.flush();
    }
    assert.deepEqual(l.got.get(2n), ["1>1", "1>2", "1>3", "1>4"]);
  });

  test("dropWhere: matching messages are lost (the sender hears unreachable), the rest arrive; heal() removes the rule", async () => {
    const l = lab();
    l.net.dropWhere((m) => m.index % 2 === 0);
    l.send(1n, 2n, 1, 2, 3, 4);
    await l.flush();
    assert.deepEqual(l.got.get(2n), ["1>1", "1>3"]);
    assert.equal(l.net.stats.dropped, 2);
    assert.deepEqual(l.unreachable, [
      [1n, 2n],
      [1n, 2n],
    ]);
    for (let i = 0; i < 5; i++) l.net.onTick();
    await l.flush();
    assert.deepEqual(l.got.get(2n), ["1>1", "1>3"], "a dropped message never arrives later");
    l.net.heal();
    l.send(1n, 2n, 6);
    await l.flush();
    assert.deepEqual(l.got.get(2n), ["1>1", "1>3", "1>6"]);
  });

  test("a drop rule made while a message is in flight (delayed) loses it too", async () => {
    const l = lab();
    l.net.delay(1n, 2n, 1);
    l.send(1n, 2n, 2);
    l.net.dropWhere((m) => m.index === 2);
    l.net.onTick();
    await l.flush();
    assert.deepEqual(l.got.get(2n), []);
    assert.equal(l.net.stats.dropped, 1);
  });

  test("hold(id): messages to it wait (none lost, the network is quiet) and arrive in order on release; other members are unaffected", async () => {
    const l = lab();
    l.net.hold(2n);
    l.send(1n, 2n, 1);
    l.send(3n, 2n, 2);
    l.send(1n, 2n, 3);
    l.send(1n, 3n, 4);
    await l.flush();
    for (let i = 0; i < 20; i++) l.net.onTick();
    await l.flush();
    assert.deepEqual(l.got.get(2n), [], "nothing reaches a held member, whatever the ticks");
    assert.deepEqual(l.got.get(3n), ["1>4"]);
    assert.equal(l.net.busy(), false);
    assert.equal(l.net.stats.dropped, 0, "held, not lost");
    l.net.release(2n);
    await l.flush();
    assert.deepEqual(l.got.get(2n), ["1>1", "3>2", "1>3"]);
    l.send(1n, 2n, 5);
    await l.flush();
    assert.deepEqual(l.got.get(2n), ["1>1", "3>2", "1>3", "1>5"], "released: delivered at once again");
  });

  test("cutOneWay: lost in one direction only; a message in flight when the link is cut is lost", async () => {
    const l = lab();
    l.send(1n, 2n, 1);
    l.net.cutOneWay(1n, 2n);
    l.send(1n, 2n, 2);
    l.send(2n, 1n, 3);
    await l.flush();
    assert.deepEqual(l.got.get(2n), [], "in flight, then cut: lost");
    assert.deepEqual(l.got.get(1n), ["2>3"]);
  });
});

describe("the fake network's faults on three real members", { timeout: 120_000 }, () => {
  let c: InprocCluster;
  beforeEach(async () => {
    c = await InprocCluster.start({ size: 3 });
  });
  afterEach(async () => {
    await c.stop();
  });

  const lastIndex = (m: InprocMember) => m.server.appliedIndex();

  test("a dropped MsgApp is not delivered; raft sends the entry again and the follower gets it", async () => {
    const leader = c.leader()!;
    const [f] = c.followers() as [InprocMember];
    const entry = lastIndex(leader) + 1;
    const carries = (m: Message) => m.type === MessageType.App && m.to === f.id && m.entries.some((e) => e.index === entry);
    // what reaches f, seen on its way in
    const seen: Message[] = [];
    const inner = f.server.peers;
    c.net.attach(f.id, {
      isMember: (id) => inner.isMember(id),
      receive: (m) => {
        seen.push(m);
        inner.receive(m);
      },
      receiveSnapshot: (m) => inner.receiveSnapshot(m),
      snapshotDir: () => inner.snapshotDir(),
    });
    // drop only the first MsgApp that carries the new entry to f
    let first: Message | undefined;
    c.net.dropWhere((m) => {
      if (!carries(m) || (first !== undefined && first !== m)) return false;
      first = m;
      return true;
    });
    assert.equal((await c.outcome(put(leader.server, "k", "v"), 5)).state, "fulfilled");
    await c.until(() => lastIndex(f) >= entry, 2 * c.electionTicks, "raft sends the entry to f again");
    assert.equal((await get(f.server, "k", true)).value, "v");
    assert.ok(first, "a MsgApp carrying the entry was offered to the rule");
    assert.ok(!seen.includes(first), "the dropped MsgApp never reached f");
    assert.ok(seen.some(carries), "f got the entry from a later MsgApp (raft's resend)");
  });

  test("while every MsgApp to a follower is dropped it falls behind (heartbeats still arrive, no election); healed, it catches up", async () => {
    const leader = c.leader()!;
    const [f] = c.followers() as [InprocMember];
    c.net.dropWhere((m) => m.type === MessageType.App && m.to === f.id);
    assert.equal((await c.outcome(put(leader.server, "k", "v"), 5)).state, "fulfilled");
    await c.tick(3 * c.electionTicks);
    assert.equal((await get(f.server, "k", true)).value, undefined, "f never got the entry");
    assert.equal(f.server.leader(), leader.id, "f still follows: heartbeats were not dropped");
    assert.equal(c.leader(), leader);
    c.net.heal();
    await c.until(() => lastIndex(f) >= lastIndex(leader), 2 * c.electionTicks, "f catches up after the heal");
    assert.equal((await get(f.server, "k", true)).value, "v");
  });

  test("a link from the leader delayed by 3 ticks: the follower applies the put on the third tick, not before", async () => {
    const leader = c.leader()!;
    const [f, other] = c.followers() as [InprocMember, InprocMember];
    c.net.delay(leader.id, f.id, 3);
    assert.equal((await c.outcome(put(leader.server, "k", "v"), 0)).state, "fulfilled", "committed with the undelayed follower, no tick needed");
    assert.equal((await get(other.server, "k", true)).value, "v");
    for (let t = 1; t <= 2; t++) {
      await c.tick();
      assert.equal((await get(f.server, "k", true)).value, undefined, `not after ${t} tick(s)`);
    }
    await c.tick();
    assert.equal((await get(f.server, "k", true)).value, "v", "after the third tick");
  });
});
