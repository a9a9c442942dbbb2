import assert from "node:assert/strict";
import type { LoadTrial } from "../../../bench/schema.js";

/** A load trial that completed: requests counted = requests sent, no errors, ordered percentiles, members sampled. */
export function assertSaneLoadTrial(t: LoadTrial, expectedSent: number | null, label: string, members = 1): void {
  assert.equal(t.kind, "load", label);
  if (expectedSent !== null) assert.equal(t.sent, expectedSent, `${label}: sent`);
  assert.equal(t.ok + t.errors + t.timeouts, t.sent, `${label}: every request sent is counted once`);
  assert.equal(t.errors + t.timeouts, 0, `${label}: no errors (${JSON.stringify(t.errorKinds)})`);
  assert.equal(t.latency.count, t.ok, `${label}: one latency sample per success`);
  const l = t.latency;
  assert.ok(l.minMs > 0 && l.minMs <= l.p50Ms && l.p50Ms <= l.p90Ms && l.p90Ms <= l.p99Ms && l.p99Ms <= l.p999Ms && l.p999Ms <= l.maxMs, `${label}: percentiles ordered ${JSON.stringify(l)}`);
  assert.equal(t.perSecond.reduce((a, b) => a + b, 0), t.ok, `${label}: per-second series adds up to the successes`);
  assert.ok(t.throughput > 0 && t.measuredMs > 0, `${label}: throughput`);
  assert.ok(t.clientCpu.processes >= 1 && t.clientCpu.userMs + t.clientCpu.systemMs > 0, `${label}: client CPU measured`);
  assert.ok(typeof t.histogram === "string" && t.histogram.length > 0, `${label}: histogram kept`);
  assert.equal(t.members.length, members);
  for (const m of t.members) assert.ok(m.pid && m.samples >= 1 && (m.rssMaxBytes ?? 0) > 1024 * 1024, `${label}: member sampled from /proc ${JSON.stringify(m)}`);
}

