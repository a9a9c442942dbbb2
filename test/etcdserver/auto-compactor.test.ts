import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { AutoCompactor, parseGoDuration } from "../../server/etcdserver/auto-compactor.js";
import { ManualClock } from "../support/manual-clock.js";

function fakeClock() {
  const clock = new ManualClock(0);
  return { clock, advance: (ms: number) => clock.advance(ms) };
}

const quiet = pino({ level: "silent" });

test("retention parses like etcd: bare numbers are hours, Go durations otherwise", () => {
  assert.equal(AutoCompactor.parseRetention("periodic", "1"), 3600_000);
  assert.equal(AutoCompactor.parseRetention("periodic", "30m"), 1800_000);
  assert.equal(AutoCompactor.parseRetention("revision", "1000"), 1000);
  assert.throws(() => AutoCompactor.parseRetention("periodic", "soon"));
  assert.equal(parseGoDuration("1h30m"), 5400_000);
});

test("periodic mode compacts to the revision seen one retention period ago", async () => {
  const { clock, advance } = fakeClock();
  let rev = 1;
  const compacted: number[] = [];
  const c = new AutoCompactor("periodic", 10_000, { currentRevision: () => rev, compact: async (r) => void compacted.push(r) }, quiet, clock);
  c.start();
  for (let s = 0; s < 10; s++) {
    rev += 100;
    await advance(1000);
  }
  assert.deepEqual(compacted, [], "the revision one period ago is the initial 1: nothing to compact");
  for (let s = 0; s < 10; s++) {
    rev += 100;
    await advance(1000);
  }
  assert.deepEqual(compacted, [101], "compacts to the revision sampled one period before");
  c.stop();
});

test("revision mode compacts to current - retention every five minutes", async () => {
  const { clock, advance } = fakeClock();
  let rev = 50;
  const compacted: number[] = [];
  const c = new AutoCompactor("revision", 100, { currentRevision: () => rev, compact: async (r) => void compacted.push(r) }, quiet, clock);
  c.start();
  await advance(5 * 60_000);
  assert.deepEqual(compacted, [], "no compaction while current - retention <= 1");
  rev = 1000;
  await advance(5 * 60_000);
  assert.deepEqual(compacted, [900]);
  c.stop();
});
