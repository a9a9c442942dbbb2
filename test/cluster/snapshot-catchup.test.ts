/**
 * Catch-up by snapshot: with --snapshot-count 50 the leader snapshots every 50 entries and keeps
 * 5000 entries behind its snapshot, so a follower that misses more than 5000 + 50 writes can only be
 * caught up with a snapshot of the leader's database. It must end with every key, at the leader's
 * revision, and say in its log that it applied a snapshot from the leader.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { downCluster, memberOf, readLog, tailLog, upCluster, type LocalCluster } from "../support/launcher.js";
import { Kv, hostPort, status, waitConverged, waitLeader, waitUntil } from "../support/cluster-client.js";

const SNAPSHOT_COUNT = 50;
/** etcd (and etcd-ts) keep this many entries in the log after a snapshot. */
const KEPT_ENTRIES = 5000;
const KEYS = KEPT_ENTRIES + SNAPSHOT_COUNT + 700;
const CONCURRENCY = 32;
const WRITE_BUDGET_MS = 90_000;

describe("a follower that missed more than the kept log catches up by snapshot", { timeout: 180_000 }, () => {
  const label = "snapshot";
  let cluster: LocalCluster;
  const kvs: Kv[] = [];
  const kv = (name: string) => {
    const k = new Kv(hostPort(memberOf(cluster, name).clientUrl));
    kvs.push(k);
    return k;
  };

  before(async () => {
    cluster = await upCluster(label, { members: 3, server: "etcd-ts", snapshotCount: SNAPSHOT_COUNT });
  });
  after(async () => {
    kvs.forEach((k) => k.close());
    await downCluster(cluster, label);
  });

  test(`stop a follower, write ${KEYS} keys, restart it: every key at the same revision, via "applied snapshot from leader"`, async (t) => {
    const eps = cluster.endpoints().map(hostPort);
    await waitConverged(eps, 20_000);
    const leader = await waitLeader(cluster, 10_000);
    const follower = cluster.members.map((m) => m.name).find((n) => n !== leader)!;
    const stoppedAt = (await status(hostPort(memberOf(cluster, follower).clientUrl))).raftIndex;
    await cluster.stop(follower);

    // Bounded concurrent writes through the leader: KEYS puts, CONCURRENCY in flight, within WRITE_BUDGET_MS.
    const w = kv(leader);
    const t0 = Date.now();
    let next = 0;
    let failures = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < KEYS && Date.now() - t0 < WRITE_BUDGET_MS) {
          const i = next++;
          const key = `snap/${String(i).padStart(5, "0")}`;
          for (let attempt = 0; ; attempt++) {
            try {
              await w.put(key, `v${i}`, 10_000);
              break;
            } catch (e) {
              if (++failures > 20 || attempt >= 3) throw e;
            }
          }
        }
      }),
    );
    assert.equal(next, KEYS, `all ${KEYS} writes sent within ${WRITE_BUDGET_MS} ms`);
    const leaderStatus = await status(hostPort(memberOf(cluster, leader).clientUrl));
    t.diagnostic(`${KEYS} puts in ${Date.now() - t0} ms (${failures} retried); ${follower} stopped at raft index ${stoppedAt}, leader now at ${leaderStatus.raftIndex}`);
    assert.ok(leaderStatus.raftIndex - stoppedAt > KEPT_ENTRIES + SNAPSHOT_COUNT, "the follower is further behind than the kept log");

    await cluster.start(follower);
    await cluster.waitHealthy([follower], 30_000);
    await waitConverged(eps, 60_000);

    const fkv = kv(follower);
    const mine = await fkv.prefix("snap/", { serializable: true });
    const theirs = await kv(leader).prefix("snap/", { serializable: true });
    assert.equal(mine.kvs.size, KEYS, `${follower} has every key (serializable read on it)`);
    for (let i = 0; i < KEYS; i++) {
      const key = `snap/${String(i).padStart(5, "0")}`;
      if (mine.kvs.get(key) !== `v${i}`) assert.fail(`${follower}: ${key} = ${mine.kvs.get(key)}, want v${i}`);
    }
    assert.equal(mine.revision, theirs.revision, `${follower} is at the leader's revision`);

    const log = readLog(memberOf(cluster, follower).logFile);
    assert.match(log, /applied snapshot from leader/, `${follower}'s log says it applied a snapshot from the leader; last lines:\n${tailLog(memberOf(cluster, follower).logFile, 15)}`);
    // The snapshot it applied is past the point where it stopped by more than the kept log.
    const applied = [...log.matchAll(/"snapshot-index":(\d+)[^\n]*"msg":"applied snapshot from leader"/g)].map((m) => Number(m[1]));
    t.diagnostic(`${follower} applied snapshot(s) at index ${applied.join(", ")}`);
    assert.ok(applied.some((i) => i > stoppedAt + KEPT_ENTRIES), `a snapshot beyond index ${stoppedAt + KEPT_ENTRIES}`);

    // After the snapshot it keeps replicating from the log.
    await w.put("snap/after", "x");
    await waitUntil(async () => (await fkv.get("snap/after", { serializable: true })).value === "x", 10_000, `${follower} to apply a write after the snapshot`);
  });
});
