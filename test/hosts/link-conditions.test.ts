/** Link conditions as users type them: durations, percentages, rates, per-link overrides, descriptions. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ConditionsError,
  conditionsTag,
  describeConditions,
  linkConditions,
  linkOf,
  parseDuration,
  parseLinkOverride,
  parsePercent,
  parseRate,
  UNSHAPED,
} from "../../ansible-free-scripts/hosts/link-conditions.js";

test("durations, percentages and rates parse to ms, percent and kbit/s; nonsense is refused with the flag's name", () => {
  assert.equal(parseDuration("--delay", "20ms"), 20);
  assert.equal(parseDuration("--delay", "20"), 20);
  assert.equal(parseDuration("--delay", "1.5s"), 1500);
  assert.equal(parseDuration("--delay", "250us"), 0.25);
  assert.equal(parseDuration("--delay", "0"), 0);
  for (const bad of ["-5ms", "fast", "20 m", "2min", "61s", ""]) assert.throws(() => parseDuration("--delay", bad), (e: Error) => e instanceof ConditionsError && /--delay/.test(e.message), bad);
  assert.equal(parsePercent("--loss", "0.5%"), 0.5);
  assert.equal(parsePercent("--loss", "2"), 2);
  for (const bad of ["100%", "-1", "x%"]) assert.throws(() => parsePercent("--loss", bad), ConditionsError, bad);
  assert.equal(parseRate("--bandwidth", "100mbit"), 100_000);
  assert.equal(parseRate("--bandwidth", "1gbit"), 1_000_000);
  assert.equal(parseRate("--bandwidth", "500kbit"), 500);
  assert.equal(parseRate("--bandwidth", "10mbps"), 80_000);
  assert.equal(parseRate("--bandwidth", "none"), null);
  for (const bad of ["100", "fast", "1kbit", "100mb"]) assert.throws(() => parseRate("--bandwidth", bad), ConditionsError, bad);
});

test("a jitter larger than the delay is refused", () => {
  assert.throws(() => linkConditions({ delay: "5ms", jitter: "10ms" }), /jitter 10ms is larger than the delay 5ms/);
  assert.deepEqual(linkConditions({ delay: "20ms", jitter: "2ms" }), { delayMs: 20, jitterMs: 2, lossPct: 0, bandwidthKbit: null });
});

test("per-link overrides: A-B sets both directions, A>B one; unset fields come from the default; bad specs are refused", () => {
  const base = linkConditions({ delay: "10ms", loss: "1%" });
  const both = parseLinkOverride("1-3:delay=50ms", 3, base);
  assert.deepEqual(both.map(([k]) => k), ["1>3", "3>1"]);
  assert.equal(both[0]![1].delayMs, 50);
  assert.equal(both[0]![1].lossPct, 1, "loss inherited from the default");
  const one = parseLinkOverride("2>1:bandwidth=1mbit,jitter=2ms", 3, base);
  assert.deepEqual(one.map(([k]) => k), ["2>1"]);
  const nc = { base, links: Object.fromEntries([...both, ...one]) };
  assert.equal(linkOf(nc, 1, 3).delayMs, 50);
  assert.equal(linkOf(nc, 1, 2).delayMs, 10, "no override: the default");
  assert.equal(linkOf(nc, 2, 1).bandwidthKbit, 1000);
  for (const bad of ["1-4:delay=5ms", "1-1:delay=5ms", "1:delay=5ms", "1-2:speed=5ms", "1-2:delay"]) assert.throws(() => parseLinkOverride(bad, 3, base), ConditionsError, bad);
  assert.equal(describeConditions(nc), "delay 10ms, loss 1%; 1>3: delay 50ms, loss 1%; 2>1: delay 10ms ±2ms, loss 1%, bandwidth 1mbit; 3>1: delay 50ms, loss 1%");
  assert.equal(conditionsTag(nc), "10ms,loss1%,+3links");
  assert.equal(conditionsTag(UNSHAPED), "0ms");
  assert.equal(describeConditions(UNSHAPED), "no added delay");
});
