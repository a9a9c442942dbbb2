import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { RateLimitedLog } from "../../server/log/rate-limited.js";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, logger: pino({ base: null }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }) };
}

test("one line per key per interval; the next one written says how many were left out", () => {
  const { lines, logger } = capture();
  let now = 0;
  const log = new RateLimitedLog(logger, 10_000, "warn", () => now);
  for (let i = 0; i < 100; i++) log.log("peer-a", { i }, "bad message");
  log.log("peer-b", {}, "bad message");
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.i, 0);
  assert.equal(lines[0]!.suppressed, undefined);
  now = 10_000;
  assert.equal(log.log("peer-a", { i: 100 }, "bad message"), true);
  assert.equal(lines[2]!.suppressed, 99);
  assert.equal(lines[2]!.level, 40);
  assert.equal(log.log("peer-a", {}, "bad message"), false);
});

test("the keys it remembers are bounded", () => {
  const { lines, logger } = capture();
  const log = new RateLimitedLog(logger, 10_000, "warn", () => 0, 3);
  for (const k of ["a", "b", "c", "d"]) log.log(k, {}, "x");
  log.log("a", {}, "x"); // forgotten as the oldest: written again
  log.log("d", {}, "x"); // remembered: left out
  assert.equal(lines.length, 5);
});
