/**
 * Failover: kill -9 of the leader (3 and 5 members), rejoin of the old leader as a follower without
 * taking leadership back, kill -9 of a follower, and the graceful leadership transfer a leader does
 * on SIGTERM.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ELECTION_MS, downCluster, memberOf, readLog, tailLog, upCluster, type LocalCluster } from "../support/launcher.js";
import { Kv, hostPort, isLeader, putEventually, sleep, status, waitConverged, waitLeader } from "../support/cluster-client.js";

/** A new leader must appear within this long of a kill -9 (election timeout 1 s, randomized up to 2 s, plus pre-vote; loaded machine). */
const NEW_LEADER_BOUND_MS = 8000;

function clients(cluster: () => LocalCluster) {
  const kvs = new Map<string, Kv>();
  return {
    kv(name: string): Kv {
      let k = kvs.get(name);
      if (!k) kvs.set(name, (k = new Kv(hostPort(memberOf(cluster(), name).clientUrl))));
      return k;
    },
    ep: (name: string) => hostPort(memberOf(cluster(), name).clientUrl),
    close: () => kvs.forEach((k) => k.close()),
  };
}

describe("failover of 3 etcd-ts members", { timeout: 150_000 }, () => {
  const label = "failover3";
  let cluster: LocalCluster;
  const c = clients(() => cluster);
  const all = () => cluster.members.map((m) => m.name);
  const allEps = () => cluster.endpoints().map(hostPort);

  before(async () => {
    cluster = await upCluster(label, { members: 3, server: "etcd-ts" });
  });
  after(async () => {
    c.close();
    await downCluster(cluster, label);
  });

  let killed = "";
  let successor = "";
  const writtenWhileDown = new Map<string, string>();

  test("kill -9 the leader: a new leader is elected in bounded time and writes continue through the remaining members", async (t) => {
    await waitConverged(allEps(), 20_000);
    killed = await waitLeader(cluster, 10_000);
    await cluster.kill(killed, "SIGKILL");
    const t0 = Date.now();
    successor = await waitLeader(cluster, NEW_LEADER_BOUND_MS + 2000, [killed]);
    const dt = Date.now() - t0;
    t.diagnostic(`${killed} killed; ${successor} leads after ${dt} ms`);
    assert.notEqual(successor, killed);
    assert.ok(dt < NEW_LEADER_BOUND_MS, `new leader after ${dt} ms (bound ${NEW_LEADER_BOUND_MS} ms)`);

    const survivors = all().filter((n) => n !== killed);
    for (const s of survivors) {
      for (let i = 0; i < 5; i++) {
        const key = `failover3/kill-leader/${s}/${i}`;
        const value = `${s}-${i}`;
        await putEventually(c.kv(s), key, value, 10_000);
        writtenWhileDown.set(key, value);
        for (const r of survivors) assert.equal((await c.kv(r).get(key)).value, value, `linearizable read of ${key} on ${r}`);
      }
    }
  });

  test("restart the old leader: it rejoins as a follower, catches up to the same raft index, and leadership does not move back", async (t) => {
    assert.ok(killed && successor, "needs the previous test");
    await cluster.start(killed);
    await cluster.waitHealthy([killed], 20_000);
    const st = await waitConverged(allEps(), 20_000);
    const successorId = (await status(c.ep(successor))).memberId;
    assert.ok(st.every((s) => s.leader === successorId), `every member names ${successor} as leader`);
    assert.equal(await isLeader(memberOf(cluster, killed).clientUrl), false, `${killed} is a follower`);
    for (const [key, value] of writtenWhileDown) {
      assert.equal((await c.kv(killed).get(key, { serializable: true })).value, value, `${killed} caught up with ${key}`);
    }
    // Three election timeouts later the leader and the term are unchanged: the rejoin did not disrupt the cluster.
    const term = st[0]!.raftTerm;
    const deadline = Date.now() + 3 * ELECTION_MS;
    while (Date.now() < deadline) {
      assert.equal(await isLeader(memberOf(cluster, successor).clientUrl), true, `${successor} still leads`);
      assert.equal(await isLeader(memberOf(cluster, killed).clientUrl), false, `${killed} did not take leadership back`);
      await sleep(200);
    }
    const after = await Promise.all(allEps().map((e) => status(e)));
    t.diagnostic(`terms before/after: ${term} / ${after.map((s) => s.raftTerm).join(",")}`);
    assert.ok(after.every((s) => s.raftTerm === term && s.leader === successorId), "no election happened after the rejoin");
  });

  test("kill -9 a follower: writes continue through the leader and the other follower, with the leader unchanged", async () => {
    const leader = await waitLeader(cluster, 10_000);
    const term = (await status(c.ep(leader))).raftTerm;
    const [victim, other] = all().filter((n) => n !== leader) as [string, string];
    await cluster.kill(victim, "SIGKILL");
    const written = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const via = i % 2 === 0 ? leader : other;
      const key = `failover3/kill-follower/${i}`;
      await putEventually(c.kv(via), key, `v${i}`, 5000);
      written.set(key, `v${i}`);
    }
    assert.equal(await waitLeader(cluster, 5000), leader, "the leader did not change");
    assert.equal((await status(c.ep(leader))).raftTerm, term, "no election");
    await cluster.start(victim);
    await cluster.waitHealthy([victim], 20_000);
    await waitConverged(allEps(), 20_000);
    for (const [key, value] of written) assert.equal((await c.kv(victim).get(key, { serializable: true })).value, value, `${victim} caught up with ${key}`);
  });

  let termed = "";
  let sigAt = 0;
  let exitAt = 0;

  test("SIGTERM the leader: leadership is transferred, a new leader appears well under one election timeout after the old one exits", async (t) => {
    await waitConverged(allEps(), 20_000);
    termed = await waitLeader(cluster, 10_000);
    const others = all().filter((n) => n !== termed);
    let newLeader: string | undefined;
    let newLeaderAt = 0;
    let polling = true;
    const poller = (async () => {
      while (polling && !newLeader) {
        for (const n of others) {
          if (await isLeader(memberOf(cluster, n).clientUrl, 300)) {
            newLeader = n;
            newLeaderAt = Date.now();
            break;
          }
        }
        await sleep(10);
      }
    })();
    sigAt = Date.now();
    await cluster.stop(termed, 15_000);
    exitAt = Date.now();
    const stopDeadline = Date.now() + 10_000;
    while (!newLeader && Date.now() < stopDeadline) await sleep(20);
    polling = false;
    await poller;
    t.diagnostic(`SIGTERM to ${termed}: exited after ${exitAt - sigAt} ms; new leader ${newLeader} at +${newLeaderAt - sigAt} ms (${newLeaderAt - exitAt} ms after the exit)`);
    assert.ok(newLeader, "a new leader");
    // Without a transfer the followers would wait at least one election timeout (1 s) after the last heartbeat.
    assert.ok(newLeaderAt - exitAt < 0.6 * ELECTION_MS, `new leader ${newLeaderAt - exitAt} ms after the old one exited (must be well under ${ELECTION_MS} ms)`);
    await putEventually(c.kv(newLeader!), "failover3/after-sigterm", "ok", 5000);
  });

  test("SIGTERM the leader: the old leader sees its transfer complete and exits promptly (etcd 3.4: ~0.1 s)", async () => {
    assert.ok(termed, "needs the previous test");
    const log = readLog(memberOf(cluster, termed).logFile);
    const evidence = `\n--- last lines of ${termed}'s log:\n${tailLog(memberOf(cluster, termed).logFile, 12)}`;
    assert.doesNotMatch(log, /leadership transfer before shutdown failed/, `the shutting-down leader reported its transfer as failed${evidence}`);
    assert.match(log, /leadership transferred before shutdown/, `the shutting-down leader logged the completed transfer${evidence}`);
    assert.ok(exitAt - sigAt < ELECTION_MS, `the old leader exited ${exitAt - sigAt} ms after SIGTERM (must be under one election timeout, ${ELECTION_MS} ms)${evidence}`);
  });

  test("the SIGTERMed leader restarts and rejoins as a follower", async () => {
    assert.ok(termed, "needs the previous tests");
    await cluster.start(termed);
    await cluster.waitHealthy([termed], 20_000);
    await waitConverged(allEps(), 20_000);
    assert.equal(await isLeader(memberOf(cluster, termed).clientUrl), false);
    assert.equal((await c.kv(termed).get("failover3/after-sigterm", { serializable: true })).value, "ok");
  });
});

describe("failover of 5 etcd-ts members", { timeout: 120_000 }, () => {
  const label = "failover5";
  let cluster: LocalCluster;
  const c = clients(() => cluster);
  const allEps = () => cluster.endpoints().map(hostPort);

  before(async () => {
    cluster = await upCluster(label, { members: 5, server: "etcd-ts" });
  });
  after(async () => {
    c.close();
    await downCluster(cluster, label);
  });

  test("kill -9 the leader, then a second member: writes continue with 3 of 5; both rejoin and catch up", async (t) => {
    await waitConverged(allEps(), 20_000);
    const leader = await waitLeader(cluster, 10_000);
    await cluster.kill(leader, "SIGKILL");
    const t0 = Date.now();
    const successor = await waitLeader(cluster, NEW_LEADER_BOUND_MS + 2000, [leader]);
    const dt = Date.now() - t0;
    t.diagnostic(`${leader} killed; ${successor} leads after ${dt} ms`);
    assert.ok(dt < NEW_LEADER_BOUND_MS, `new leader after ${dt} ms (bound ${NEW_LEADER_BOUND_MS} ms)`);

    const written = new Map<string, string>();
    const survivors = () => cluster.members.filter((m) => m.running).map((m) => m.name);
    for (const s of survivors()) {
      await putEventually(c.kv(s), `failover5/a/${s}`, s, 10_000);
      written.set(`failover5/a/${s}`, s);
    }
    const second = survivors().find((n) => n !== successor)!;
    await cluster.kill(second, "SIGKILL");
    assert.equal(survivors().length, 3);
    for (const s of survivors()) {
      await putEventually(c.kv(s), `failover5/b/${s}`, s, 10_000);
      written.set(`failover5/b/${s}`, s);
      for (const r of survivors()) assert.equal((await c.kv(r).get(`failover5/b/${s}`)).value, s, `linearizable read on ${r}`);
    }
    for (const n of [leader, second]) await cluster.start(n);
    await cluster.waitHealthy([leader, second], 20_000);
    await waitConverged(allEps(), 30_000);
    for (const n of [leader, second]) {
      for (const [key, value] of written) assert.equal((await c.kv(n).get(key, { serializable: true })).value, value, `${n} caught up with ${key}`);
    }
  });
});
