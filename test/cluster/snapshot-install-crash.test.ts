/**
 * kill -9 of a follower at each step of installing a snapshot from the leader (failpoints named by
 * ETCDTS_FAILPOINTS, server/util/failpoint.ts): after a restart without the failpoint, the follower
 * rejoins and holds every write the cluster acknowledged, with the leader's HashKV. The dangerous
 * step is raftAfterSaveHardState: the WAL says "snapshot at S" while the backend is still the old
 * one; start-up must swap in the database received for S (or refuse to start), never apply the log
 * after S to the old backend.
 *
 * Each round stops the follower, writes more entries than the leader keeps after a snapshot (so the
 * follower can only catch up by snapshot), and starts it with one failpoint armed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { downCluster, memberOf, readLog, setEnv, tailLog, upCluster, type LocalCluster } from "../support/launcher.js";
import { Kv, hashKV, hostPort, sleep, waitConverged, waitLeader, waitUntil } from "../support/cluster-client.js";

const SNAPSHOT_COUNT = 50;
/** Entries the leader keeps after a snapshot (etcd's 5000) plus a snapshot's worth and a margin. */
const KEYS_PER_ROUND = 5000 + SNAPSHOT_COUNT + 150;
const CONCURRENCY = 48;
const FAILPOINTS = [
  "snapDbBeforeRename",
  "snapDbAfterRename",
  "raftAfterSaveSnapFile",
  "raftAfterSaveSnapWal",
  "raftAfterSaveHardState",
  "backendAfterRename",
  "serverAfterApplySnap",
];

describe("kill -9 of a follower at each step of snapshot installation loses no acknowledged write", { timeout: 900_000 }, () => {
  const label = "snapcrash";
  let cluster: LocalCluster;
  const acked = new Map<string, string>();
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

  async function writeRound(through: Kv, round: number, n: number): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) {
          const i = next++;
          const key = `r${String(round).padStart(2, "0")}/${String(i).padStart(5, "0")}`;
          const value = `v${round}.${i}`;
          for (let attempt = 0; ; attempt++) {
            try {
              await through.put(key, value, 10_000);
              acked.set(key, value);
              break;
            } catch (e) {
              if (attempt >= 3) throw e;
            }
          }
        }
      }),
    );
  }

  for (const [round, fp] of FAILPOINTS.entries()) {
    test(`failpoint ${fp}: the follower dies there, restarts, and has every acknowledged write`, async (t) => {
      const eps = cluster.endpoints().map(hostPort);
      await waitConverged(eps, 30_000);
      const leader = await waitLeader(cluster, 10_000);
      const follower = cluster.members.map((m) => m.name).find((n) => n !== leader)!;
      const f = memberOf(cluster, follower);
      const logBefore = readLog(f.logFile).length;
      await cluster.stop(follower);
      const w = kv(leader);
      await writeRound(w, round, KEYS_PER_ROUND);

      setEnv(f.envFile, { ETCDTS_FAILPOINTS: fp });
      await cluster.start(follower);
      await waitUntil(async () => !memberOf(cluster, follower).running, 60_000, `${follower} to reach failpoint ${fp} and die`);
      const died = readLog(f.logFile).slice(logBefore);
      assert.match(died, new RegExp(`"failpoint":"${fp}"`), `${follower} died at ${fp}; its last lines:\n${tailLog(f.logFile, 10)}`);

      // more acknowledged writes while it is down
      await writeRound(w, round + 100, 20);
      setEnv(f.envFile, { ETCDTS_FAILPOINTS: "" });
      await cluster.start(follower);
      await cluster.waitHealthy([follower], 60_000);
      const statuses = await waitConverged(eps, 90_000);

      const mine = await kv(follower).prefix("r", { serializable: true });
      let missing = 0;
      for (const [k, v] of acked) if (mine.kvs.get(k) !== v) missing++;
      assert.equal(missing, 0, `${follower} lacks ${missing} of ${acked.size} acknowledged writes after dying at ${fp}`);
      const rev = statuses[0]!.revision;
      const hashes = await Promise.all(eps.map((e) => hashKV(e, rev)));
      assert.equal(new Set(hashes.map((h) => h.hash)).size, 1, `same HashKV at revision ${rev} on every member: ${JSON.stringify(hashes)}`);
      const after = readLog(f.logFile).slice(logBefore);
      t.diagnostic(`${fp}: ${acked.size} acknowledged writes present on ${follower}; recovered from the received database at start: ${/recovering it from the database received/.test(after)}`);
      // it keeps replicating
      await w.put("after", fp);
      await waitUntil(async () => (await kv(follower).get("after", { serializable: true })).value === fp, 15_000, `${follower} to apply a write after ${fp}`);
      await sleep(200);
    });
  }
});
