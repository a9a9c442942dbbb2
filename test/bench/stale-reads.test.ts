/**
 * The stale-read check of the partition scenarios (bench/partition-clients.ts): a successful read
 * that saw a store revision older than that of a write acknowledged before the read was sent is
 * stale; reads that overlap the write, failed reads, and a write that timed out and was applied
 * later (setting an older value at a newer revision) are not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { findStaleReads, type ProbeRead, type ProbeWrite } from "../../bench/partition-clients.js";

const w = (value: number, start: number, end: number, revision?: number, ok = true): ProbeWrite => ({ value, start, end, ok, ...(revision !== undefined ? { revision } : {}) });
const r = (start: number, end: number, revision?: number, value: number | null = null, ok = true): ProbeRead => ({ start, end, ok, timeout: false, value, ...(revision !== undefined ? { revision } : {}) });

test("a read that saw a revision older than an earlier acknowledged write is stale", () => {
  const writes = [w(0, 0, 5, 10), w(1, 10, 20, 11), w(2, 30, 40, 14)];
  const stale = findStaleReads([r(21, 25, 10, 0)], writes);
  assert.deepEqual(stale, [{ readRevision: 10, ackedRevision: 11, readValue: 0, start: 21 }]);
  assert.equal(findStaleReads([r(45, 50, 13, 1)], writes).length, 1, "behind the newest acknowledged write");
});

test("concurrent, failed and up-to-date reads are not stale; nor is an older value at a newer revision", () => {
  const writes = [w(0, 0, 5, 10), w(1, 10, 20, 11), w(2, 18, 30, undefined, false)];
  const reads = [
    r(15, 25, 10, 0), // sent before write 1 was acknowledged: may see either
    r(21, 24, 11, 1),
    r(22, 26, undefined, undefined, false), // failed
    r(40, 41, 15, 2), // the timed-out write 2, applied at 15
    r(50, 51, 16, 1), // a late write of value 1 applied at 16: an older value, a newer revision
  ];
  assert.deepEqual(findStaleReads(reads, writes), []);
});
