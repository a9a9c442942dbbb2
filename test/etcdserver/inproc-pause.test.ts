/**
 * A paused leader (as SIGSTOP: clock stopped, messages to it waiting) of three in-process members
 * (test/support/inproc/) must not serve stale linearizable reads once resumed: while it is paused
 * the others elect a new leader and a client keeps writing through another member; the linearizable
 * reads sent to the old leader (some as it resumes, before its timers and the waiting messages, some
 * right after) must all return the newest acknowledged write or a later one (a put the client gave
 * up on may still commit after it, as in etcd). The resumed member then follows the new leader.
 * Moved here from test/cluster/pause.test.ts (processes, SIGSTOP, sleeps): bounds are in ticks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { InprocCluster } from "../support/inproc/cluster.js";
import { get, put } from "../support/inproc/requests.js";

test("a resumed paused leader never serves a linearizable read older than the newest acknowledged write, and follows the new leader", { timeout: 120_000 }, async (t) => {
  const c = await InprocCluster.start({ size: 3, seed: 3 });
  try {
    const paused = c.leader()!;
    const writer = c.members.find((m) => m !== paused)!;
    const key = "pause/register";
    assert.equal((await c.outcome(put(writer.server, key, "0"), 5)).state, "fulfilled");
    const first = await c.outcome(get(paused.server, key), 5);
    assert.equal(first.state === "fulfilled" && first.value.value, "0");

    await c.pause(paused.name);
    const pausedAt = c.elapsedTicks;
    let n = 0;
    let lastAcked = 0;
    let lastAckedRev = 0;
    const acked = new Set<number>([0]);
    // Write for 3 s (30 ticks), one put a tick, and on until a write went through the new leader (at
    // most 15 s); a put not answered within 5 ticks is given up on but may still commit later.
    while (c.elapsedTicks - pausedAt < 30 || acked.size === 1) {
      assert.ok(c.elapsedTicks - pausedAt < 150, "a write went through within 15 s of the pause");
      const v = ++n;
      const r = await c.outcome(put(writer.server, key, String(v)), 5);
      await c.tick();
      if (r.state !== "fulfilled") continue;
      lastAcked = v;
      lastAckedRev = r.value.revision;
      acked.add(v);
    }
    t.diagnostic(`${paused.name} paused for ${c.elapsedTicks - pausedAt} ticks; ${acked.size - 1} of ${n} writes through ${writer.name} acknowledged, newest ${lastAcked} at ${lastAckedRev}`);
    const others = c.members.filter((m) => m !== paused);
    const fresh = others.find((m) => m.server.leader() === m.id);
    assert.ok(fresh, "a new leader among the others");
    assert.equal(paused.server.leader(), paused.id, "the paused member still believes it leads");

    const asResumed = Array.from({ length: 5 }, () => get(paused.server, key));
    await c.resume(paused.name);
    const afterResume = Array.from({ length: 5 }, () => get(paused.server, key));
    const results = await Promise.all([...asResumed, ...afterResume].map((p) => c.outcome(p, c.requestTimeoutTicks + 5)));
    t.diagnostic(`reads on ${paused.name} after resume: ${results.map((r) => (r.state === "fulfilled" ? `value ${r.value.value} rev ${r.value.modRevision}` : r.state === "rejected" ? `error ${String(r.error)}` : "pending")).join("; ")}`);
    for (const [i, r] of results.entries()) {
      assert.notEqual(r.state, "pending", `read ${i} ends within a request timeout`);
      if (r.state === "fulfilled") assertFresh(r.value, `read ${i} on the resumed old leader`);
    }
    const later = await c.outcome(get(paused.server, key), 4 * c.electionTicks);
    assert.equal(later.state, "fulfilled", "a linearizable read on the resumed member succeeds");
    if (later.state === "fulfilled") assertFresh(later.value, "a later read");

    await c.until(() => paused.server.leader() === fresh.id, 4 * c.electionTicks, `${paused.name} names ${fresh.name} as leader`);
    assert.ok(c.members.every((m) => m.server.leader() === fresh.id), "every member follows the new leader");
    assert.equal((await c.outcome(put(fresh.server, "pause/after", "x"), 5)).state, "fulfilled");
    const after = await c.outcome(get(paused.server, "pause/after"), 5);
    assert.equal(after.state === "fulfilled" && after.value.value, "x", "the old leader serves fresh linearizable reads as a follower");
    assert.deepEqual(
      c.members.map((m) => m.fatals),
      [0, 0, 0],
    );

    /**
     * Fresh: the key was last written at or after the newest acknowledged put. A put given up on may
     * still commit later; its value is then newer, not stale.
     */
    function assertFresh(r: { value?: string; modRevision: number }, what: string): void {
      assert.ok(r.modRevision >= lastAckedRev, `${what} returned ${r.value} at mod revision ${r.modRevision}, older than the acknowledged ${lastAcked} at ${lastAckedRev} (stale linearizable read)`);
      const v = Number(r.value);
      assert.ok(v >= lastAcked || !acked.has(v), `${what} returned the acknowledged ${r.value}, older than the acknowledged ${lastAcked} (stale linearizable read)`);
    }
  } finally {
    await c.stop();
  }
});
