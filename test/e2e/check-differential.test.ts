/**
 * Differential: `etcdctl check datascale` and `etcdctl check perf` against Debian's etcd 3.4.23 and
 * etcd-ts (one member each). Both commands write under their own prefix with 50 clients, delete the
 * prefix afterwards, and with --auto-compact / --auto-defrag compact and defragment. datascale also
 * reads process_resident_memory_bytes from /metrics. The verdict lines must have the same shape and the
 * cleanup the same effect. The figures (MB, writes/s, seconds) and perf's PASS/FAIL for speed are
 * timing; they are not compared. The refusals (prefix in use, unknown load) must match exactly.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { etcdctl, type CtlResult } from "../support/etcdctl.js";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";

/**
 * The lines a check prints, without the progress bar and zap log lines. The bar is redrawn with \r,
 * and the line after it can start on the bar's own line ("59 / 60  98.33%Compacting with revision
 * 19002", as etcd 3.4 printed it once), so every drawing of the bar is cut out before splitting.
 */
function verdictLines(r: CtlResult): string[] {
  return (r.stdout + "\n" + r.stderr)
    .replace(/\d+ \/ \d+ +[\d.]+%( +(\d+m)?\d+s)?/g, "\n")
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("{\"level\"") && !/^\d+ \/ \d+/.test(l) && !l.includes("Bom"));
}

/** A verdict line with its figures replaced: what both servers must agree on. */
const shape = (l: string) =>
  l
    .replace(/revision \d+/, "revision R")
    .replace(/[\d.]+ MB/, "N MB")
    .replace(/\d+ writes\/s/, "N writes/s")
    .replace(/[\d.]+s$/, "Ns")
    .replace(/^(PASS|FAIL): Throughput( too low:| is)/, "VERDICT: Throughput")
    .replace(/^(PASS: Slowest request took|Slowest request took too long:)/, "VERDICT: Slowest")
    .replace(/^(PASS: Stddev is|Stddev too high:)/, "VERDICT: Stddev")
    .replace(/^(PASS|FAIL)$/, "VERDICT");

/** How many keys are left under a prefix, and whether revision 1 is compacted away. */
async function after(m: MemberProcess, prefix: string): Promise<{ keys: string; compacted: boolean }> {
  const count = await etcdctl(m.endpoint, ["get", prefix, "--prefix", "--keys-only", "--limit=1", "-w", "json"]);
  const old = await etcdctl(m.endpoint, ["get", "x", "--rev=1"]);
  return { keys: String((JSON.parse(count.stdout) as { count?: number }).count ?? 0), compacted: old.stderr.includes("required revision has been compacted") };
}

describe("etcdctl check (datascale, perf): etcd-ts vs etcd 3.4.23", { timeout: 300_000 }, () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((a, b) => {
    etcd = a;
    ours = b;
  });

  test("check datascale --auto-compact --auto-defrag: same verdict lines, same revisions, prefix deleted and compacted", async () => {
    const [e, o] = await Promise.all([etcd, ours].map((m) => etcdctl(m.endpoint, ["check", "datascale", "--auto-compact", "--auto-defrag"], undefined, 120_000)));
    assert.equal(o.code, 0, `etcd-ts: ${o.stdout}\n${o.stderr}`);
    assert.equal(e.code, 0, `etcd: ${e.stdout}\n${e.stderr}`);
    const norm = (r: CtlResult, m: MemberProcess) => verdictLines(r).map((l) => l.replace(m.endpoint, "EP").replace(/[\d.]+ MB/, "N MB"));
    // Same sequence of writes from a fresh member: the compaction revision is the same (10002).
    assert.deepEqual(norm(o, ours), norm(e, etcd));
    assert.ok(norm(o, ours).some((l) => l.startsWith("PASS: Approximate system memory used")), "etcd-ts read its own /metrics");
    assert.deepEqual(await after(ours, "/etcdctl-check-datascale/"), await after(etcd, "/etcdctl-check-datascale/"));
    assert.deepEqual(await after(ours, "/etcdctl-check-datascale/"), { keys: "0", compacted: true });
  });

  test("check perf --auto-compact --auto-defrag: no errors, the same verdict lines in shape, prefix deleted", async () => {
    // 60 s at 150 writes/s by etcdctl's design (no flag shortens it); both servers at once.
    const [e, o] = await Promise.all([etcd, ours].map((m) => etcdctl(m.endpoint, ["check", "perf", "--auto-compact", "--auto-defrag"], undefined, 150_000)));
    const lines = (r: CtlResult, m: MemberProcess) => verdictLines(r).map((l) => shape(l.replace(m.endpoint, "EP")));
    assert.ok(!o.stdout.includes("too many errors"), `etcd-ts answered requests with errors:\n${o.stdout}`);
    assert.deepEqual(lines(o, ours), lines(e, etcd), `etcd-ts:\n${o.stdout}\netcd:\n${e.stdout}`);
    assert.equal((await after(ours, "/etcdctl-check-perf/")).keys, "0");
    assert.equal((await after(etcd, "/etcdctl-check-perf/")).keys, "0");
  });

  test("refusals: a prefix that has keys, an unknown load; same text and exit code", async () => {
    for (const m of [etcd, ours]) {
      assert.equal((await etcdctl(m.endpoint, ["put", "/etcdctl-check-perf/x", "y"])).code, 0);
      assert.equal((await etcdctl(m.endpoint, ["put", "/etcdctl-check-datascale/x", "y"])).code, 0);
    }
    for (const args of [["check", "perf"], ["check", "datascale"], ["check", "perf", "--load=q"], ["check", "datascale", "--load=xs"]]) {
      const [e, o] = await Promise.all([etcd, ours].map((m) => etcdctl(m.endpoint, args)));
      assert.equal(o.code, e.code, `${args.join(" ")}: exit code`);
      assert.notEqual(o.code, 0, `${args.join(" ")} refused`);
      assert.deepEqual(verdictLines(o), verdictLines(e), args.join(" "));
    }
  });
});
