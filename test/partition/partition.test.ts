/**
 * Writes under network partitions, checked for linearizability and double application.
 *
 * A 3-member (then a 5-member) etcd-ts cluster runs in network namespaces (ansible-free-scripts/hosts/netns.ts), one
 * member per namespace on its own address. While 6 clients that retry exactly like clientv3 3.4 (support/
 * clientv3-retry.ts) put, delete and read 5 keys through every member, the links between members
 * are cut and healed (ansible-free-scripts/hosts/partition.ts): a follower isolated from the majority, the leader
 * isolated, a one-way cut, (5 members: two followers cut from the other three,) a flapping link.
 * Then, healed and converged:
 * - the recorded history passes the linearizability checker (test/linearizability), final reads
 *   included, and no acknowledged write is lost;
 * - no value was stored at two revisions (every revision of every key is read back with a watch
 *   from revision 1; values are unique per write);
 * - no attempt was answered by the server with DEADLINE_EXCEEDED or CANCELLED, which clientv3
 *   retries on another member even for writes (the write is then applied twice once the first
 *   member's proposal commits too).
 * PARTITION_SEED=<n> replays the op and key choices; timing still varies. PARTITION_SERVER=etcd runs
 * the same test against Debian's etcd 3.4 (the oracle). Skips (saying why) only where network
 * namespaces cannot be created.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHistory, findLostWrites } from "../linearizability/index.js";
import { labUnavailable, NetLab } from "../../ansible-free-scripts/hosts/netns.js";
import { Partitions } from "../../ansible-free-scripts/hosts/partition.js";
import { LabCluster } from "../support/netns-cluster.js";
import { prefixHistory, valuesStoredTwice } from "../support/kv-history.js";
import { mulberry32 } from "../support/prng.js";
import { logsDir } from "../support/launcher.js";
import { waitConverged, rpc } from "../support/cluster-client.js";
import { formatCounts, Workload } from "./workload.js";
import { runSchedule } from "./faults.js";

const KEYS = ["part/a", "part/b", "part/c", "part/d", "part/e"];
const OP_TIMEOUT_MS = 1000;
const SERVER = process.env.PARTITION_SERVER === "etcd" ? "etcd" : "etcd-ts";
const unavailable = labUnavailable();

type Diag = { diagnostic(m: string): void };

/** Linearizable reads of every key after the run, recorded in the history too. */
async function finalReads(endpoint: string, workload: Workload): Promise<Map<string, string | null>> {
  const finals = new Map<string, string | null>();
  const reader = rpc(endpoint, "KV");
  try {
    for (const key of KEYS) {
      const tok = workload.rec.begin("final", "get", { key });
      const res = await reader.call<{ kvs: { value: Buffer }[] }>("Range", { key: Buffer.from(key) }, 5000);
      const v = res.kvs[0] ? res.kvs[0].value.toString() : null;
      workload.rec.end(tok, v);
      finals.set(key, v);
    }
  } finally {
    reader.close();
  }
  return finals;
}

/** Clients run while the schedule cuts and heals links; returns once both are done and all is healed. */
async function loadUnderPartitions(t: Diag, lab: NetLab, cluster: LabCluster, workload: Workload): Promise<string[]> {
  const parts = new Partitions(lab);
  const timeline: string[] = [];
  const t0 = Date.now();
  const log = (l: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${l}`);
  const running = workload.run();
  // The schedule ends healed; the clients stop right after (bounded by maxOpsPerClient anyway).
  const hardStop = Date.now() + 70_000;
  try {
    await runSchedule(cluster, parts, { cutMs: 4000, settleMs: 2500, flaps: 6, stop: () => Date.now() > hardStop, log });
  } finally {
    parts.healAll();
  }
  for (const h of lab.hosts) assert.doesNotMatch(parts.rulesOf(h), /drop/i, `no partition rule left on ${h.name}`);
  await new Promise((r) => setTimeout(r, 2000));
  workload.stop();
  await running;
  t.diagnostic(`timeline: ${timeline.join("; ")}`);
  return timeline;
}

/** The verdicts: nothing stored twice, nothing lost, linearizable, no server-sent context error. */
async function check(t: Diag, label: string, seed: number, endpoint: string, workload: Workload, timeline: string[]): Promise<void> {
  const finals = await finalReads(endpoint, workload);
  const events = await prefixHistory(endpoint, "part/");
  const history = workload.rec.history();
  const s = workload.stats;
  const out = logsDir(label);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "history.json"), JSON.stringify({ seed, timeline, history, finals: Object.fromEntries(finals), events }));
  t.diagnostic(`${history.length} ops: ${s.ok} ok, ${s.unknownWrites} writes of unknown outcome, ${s.failedReads} failed reads; ${events.length} events stored; history in ${out}/history.json`);
  t.diagnostic(`client errors: ${formatCounts(s.errors)}`);
  assert.ok(s.ok >= 200, `the clients got work done (${s.ok} ok ops)`);

  const twice = valuesStoredTwice(events);
  const result = checkHistory(history);
  const lost = findLostWrites(history, finals);
  t.diagnostic(`server-sent context errors: ${formatCounts(s.serverCtxErrors)}; values stored twice: ${twice.length}`);
  assert.deepEqual(twice.slice(0, 10), [], `no value stored at two revisions (${twice.length} were)`);
  assert.deepEqual(lost.map((l) => l.message), [], "no acknowledged write lost");
  if (result.ok === false) assert.fail(`not linearizable (seed ${seed}; ${timeline.join("; ")}):\n${result.explanation}`);
  assert.equal(result.ok, true, result.ok === "unknown" ? `the checker gave up: ${result.reason}` : "");
  assert.equal(s.serverCtxErrors.size, 0, `the server answered DEADLINE_EXCEEDED / CANCELLED itself: ${formatCounts(s.serverCtxErrors)}`);
}

async function partitionRun(t: Diag, members: 3 | 5, label: string): Promise<void> {
  const seed = Number(process.env.PARTITION_SEED ?? Date.now() % 1_000_000);
  t.diagnostic(`${SERVER}, seed ${seed} (PARTITION_SEED=${seed} replays the op choices)`);
  const dir = mkdtempSync(join(tmpdir(), `etcd-ts-${label}-`));
  const lab = NetLab.create(Array.from({ length: members }, (_, i) => `m${i + 1}`));
  let cluster: LabCluster | undefined;
  let workload: Workload | undefined;
  try {
    cluster = LabCluster.start(lab, { server: SERVER, dir, heartbeatMs: 100, electionMs: 1000 });
    const eps = cluster.endpoints();
    await waitConverged(eps, 30_000);
    workload = new Workload({ endpoints: eps, clients: 6, keys: KEYS, opTimeoutMs: OP_TIMEOUT_MS, maxOpsPerClient: 5000, rand: mulberry32(seed) });
    const timeline = await loadUnderPartitions(t, lab, cluster, workload);
    await waitConverged(eps, 30_000);
    await check(t, label, seed, eps[0]!, workload, timeline);
  } finally {
    workload?.close();
    await cluster?.stop();
    try {
      const out = logsDir(label);
      mkdirSync(out, { recursive: true });
      for (const m of cluster?.members ?? []) copyFileSync(m.logFile, join(out, `${m.name}.log`));
    } catch {
      /* evidence only */
    }
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("writes under network partitions (network namespaces, clientv3's retries)", { skip: unavailable ? `skipped: ${unavailable}` : false, timeout: 260_000 }, () => {
  test("3 members: isolated follower, isolated leader, one-way cut, flapping link: linearizable, nothing applied twice", { timeout: 110_000 }, async (t) => {
    await partitionRun(t, 3, "partition-3");
  });

  test("5 members: the same, plus a minority of two cut from the majority", { timeout: 120_000 }, async (t) => {
    await partitionRun(t, 5, "partition-5");
  });
});

if (unavailable) console.log(`# partition tests skipped: ${unavailable}`);
