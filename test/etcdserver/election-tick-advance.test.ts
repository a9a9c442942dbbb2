import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { startElectionTickAdvance, POLL_MS, WAIT_MS } from "../../server/etcdserver/election-tick-advance.js";
import type { Clock } from "../../server/util/clock.js";

/** A clock whose `every` callbacks run when the test says. */
function manualClock() {
  const timers = new Set<() => void>();
  const clock: Clock = {
    now: () => 0,
    every: (_ms, f) => {
      timers.add(f);
      return () => timers.delete(f);
    },
    after: () => () => undefined,
  };
  return { clock, fire: () => [...timers].forEach((f) => f()), pending: () => timers.size };
}

function run(enabled: boolean, voters: bigint[], active: Set<bigint>) {
  const m = manualClock();
  let ticks = 0;
  startElectionTickAdvance({
    enabled, memberId: 1n, electionTicks: 10, tickMs: 100, voters: () => voters, activeSince: (id) => (active.has(id) ? 1 : 0),
    tick: () => ticks++, kick: () => undefined, clock: m.clock, logger: pino({ level: "silent" }),
  });
  return { ...m, ticks: () => ticks };
}

test("with the flag, a member of three fast-forwards election ticks - 2 once both peers are connected", () => {
  const active = new Set<bigint>();
  const r = run(true, [1n, 2n, 3n], active);
  r.fire();
  active.add(2n);
  r.fire();
  assert.equal(r.ticks(), 0, "one peer is not enough (etcd: ActivePeers() > 1)");
  active.add(3n);
  r.fire();
  assert.equal(r.ticks(), 8);
  assert.equal(r.pending(), 0, "the wait ends");
});

test("without the flag, nothing is advanced; with it, the wait gives up after etcd's 5 s", () => {
  const off = run(false, [1n, 2n, 3n], new Set([2n, 3n]));
  assert.equal(off.pending(), 0);
  assert.equal(off.ticks(), 0);
  const lonely = run(true, [1n, 2n, 3n], new Set());
  for (let i = 0; i < WAIT_MS / POLL_MS; i++) lonely.fire();
  assert.equal(lonely.pending(), 0);
  assert.equal(lonely.ticks(), 0);
  const single = run(true, [1n], new Set());
  assert.equal(single.pending(), 0, "a lone voter is RaftEvents' business");
});
