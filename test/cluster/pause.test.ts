/**
 * A paused leader (SIGSTOP ~3 s) must not serve stale linearizable reads once resumed: while it is
 * stopped the others elect a new leader and a client keeps writing through another member; the
 * linearizable reads sent to the old leader (some queued while it is still stopped, some right after
 * SIGCONT) must all return the newest acknowledged write or a later one (a put the client gave up on
 * may still commit after it, as in etcd). The resumed member then follows.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { downCluster, memberOf, upCluster, type LocalCluster } from "../support/launcher.js";
import { Kv, hostPort, isLeader, sleep, status, waitConverged, waitLeader, waitUntil } from "../support/cluster-client.js";

describe("paused leader (SIGSTOP/SIGCONT) of 3 etcd-ts members", { timeout: 90_000 }, () => {
  const label = "pause";
  let cluster: LocalCluster;
  const kvs: Kv[] = [];
  const kv = (name: string) => {
    const k = new Kv(hostPort(memberOf(cluster, name).clientUrl));
    kvs.push(k);
    return k;
  };

  before(async () => {
    cluster = await upCluster(label, { members: 3, server: "etcd-ts" });
  });
  after(async () => {
    kvs.forEach((k) => k.close());
    // A member left stopped would not die on SIGKILL until continued: LocalCluster.kill sends SIGKILL to the group, which works on stopped processes too.
    await downCluster(cluster, label);
  });

  let paused = "";
  let newLeader = "";

  test("linearizable reads on the resumed old leader never return a value older than the newest acknowledged write", async (t) => {
    await waitConverged(cluster.endpoints().map(hostPort), 20_000);
    paused = await waitLeader(cluster, 10_000);
    const writer = cluster.members.map((m) => m.name).find((n) => n !== paused)!;
    const w = kv(writer);
    const key = "pause/register";
    await w.put(key, "0");
    // Connect the reader to the old leader before it stops, so the queued reads reach its socket.
    const reader = kv(paused);
    assert.equal((await reader.get(key)).value, "0");

    await cluster.pause(paused);
    const pausedAt = Date.now();
    let n = 0;
    let lastAcked = 0;
    let lastAckedRev = 0;
    let acks = 0;
    const acked = new Set<number>([0]);
    // Write for ~3 s (and on until at least one write went through the new leader; bounded at 15 s).
    while ((Date.now() - pausedAt < 3000 || acks === 0) && Date.now() - pausedAt < 15_000) {
      const v = ++n;
      try {
        lastAckedRev = await w.put(key, String(v), 500);
        lastAcked = v;
        acked.add(v);
        acks++;
      } catch {
        await sleep(50);
      }
    }
    t.diagnostic(`${paused} paused for ${Date.now() - pausedAt} ms; ${acks} of ${n} writes through ${writer} acknowledged, newest ${lastAcked}`);
    assert.ok(acks > 0, "writes went through while the old leader was stopped");
    newLeader = await waitLeader(cluster, 5000, [paused]);

    // Reads queued while the old leader is still stopped: it processes them first thing after SIGCONT.
    const queued = Array.from({ length: 5 }, () => reader.get(key, { timeoutMs: 8000 }).then((r) => ({ ok: true as const, r }), (e: Error) => ({ ok: false as const, e })));
    await sleep(100);
    await cluster.resume(paused);
    const immediate = Array.from({ length: 5 }, () => reader.get(key, { timeoutMs: 8000 }).then((r) => ({ ok: true as const, r }), (e: Error) => ({ ok: false as const, e })));
    const results = await Promise.all([...queued, ...immediate]);
    const summary = results.map((x) => (x.ok ? `value ${x.r.value} rev ${x.r.modRevision}` : `error ${x.e.message}`));
    t.diagnostic(`reads on ${paused} after SIGCONT: ${summary.join("; ")}`);
    for (const [i, x] of results.entries()) {
      if (!x.ok) continue; // an error is not a stale read
      assertFresh(x.r, `read ${i} on the resumed old leader`);
    }
    // At least one linearizable read on it must succeed (retry until one does), and be fresh.
    const fresh = await waitUntil(async () => reader.get(key, { timeoutMs: 2000 }), 15_000, `a linearizable read on ${paused}`, 100);
    assertFresh(fresh, `read on ${paused}`);

    /**
     * Fresh means: the key was last written at or after the newest acknowledged put. A put that timed out
     * was never answered, so it may still commit later (etcd does the same: a proposal forwarded to the
     * stopped leader can reach the new one after it resumes); its value is then newer, not stale.
     * An older acknowledged value, or any value at an older revision, is a stale read.
     */
    function assertFresh(r: { value?: string; modRevision: number }, what: string): void {
      assert.ok(r.modRevision >= lastAckedRev, `${what} returned ${r.value} at mod revision ${r.modRevision}, older than the acknowledged ${lastAcked} at ${lastAckedRev} (stale linearizable read)`);
      const v = Number(r.value);
      assert.ok(v >= lastAcked || !acked.has(v), `${what} returned the acknowledged ${r.value}, older than the acknowledged ${lastAcked} (stale linearizable read)`);
    }
  });

  test("the resumed old leader becomes a follower of the new leader", async () => {
    assert.ok(paused && newLeader, "needs the previous test");
    const newId = (await status(hostPort(memberOf(cluster, newLeader).clientUrl))).memberId;
    await waitUntil(
      async () => (await status(hostPort(memberOf(cluster, paused).clientUrl))).leader === newId,
      10_000,
      `${paused} to name ${newLeader} as leader`,
    );
    assert.equal(await isLeader(memberOf(cluster, paused).clientUrl), false, `${paused} reports is_leader 0`);
    const st = await waitConverged(cluster.endpoints().map(hostPort), 20_000);
    assert.ok(st.every((s) => s.leader === newId), "every member follows the new leader");
    // And it still serves fresh linearizable reads as a follower.
    const w = kv(newLeader);
    await w.put("pause/after", "x");
    assert.equal((await kv(paused).get("pause/after")).value, "x");
  });
});
