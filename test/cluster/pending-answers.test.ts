/**
 * What a member answers requests it cannot finish, compared with etcd 3.4 (differential).
 *
 * 3 members; the leader and one follower are SIGSTOPped, so the remaining follower can neither
 * commit nor (after an election timeout) see a leader. Requests sent to it with a deadline are read
 * with a raw HTTP/2 client that keeps listening past its deadline (support/raw-grpc.ts), so the
 * test sees what the server sent, not the client's own timeout. etcd answers with its own errors
 * ("etcdserver: request timed out", Unavailable, for a write raft took; "context deadline exceeded",
 * Unknown, while there is no leader, for reads, and at its 5 s + 2 election timeouts request timeout),
 * never with DEADLINE_EXCEEDED or CANCELLED, which clientv3 retries on another member even for a
 * write (the write is then applied twice). etcd-ts must answer the same, code and text.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { downCluster, upCluster, type LocalCluster } from "../support/launcher.js";
import { hostPort, status, waitConverged, waitLeader, waitUntil } from "../support/cluster-client.js";
import { rawUnary, type ServerAnswer } from "../support/raw-grpc.js";

const ELECTION_MS = 2000;
/** etcd's ReqTimeout with that election timeout. */
const REQUEST_TIMEOUT_MS = 5000 + 2 * ELECTION_MS;

const etcdInstalled = (() => {
  try {
    execFileSync("etcd", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** What etcd 3.4.23 answers (measured with this test against Debian's etcd). */
const ETCD_ANSWERS: Record<string, string> = {
  "Put, leader still known": "14 etcdserver: request timed out",
  "Range, leader still known": "2 context deadline exceeded",
  "Put, no leader": "2 context deadline exceeded",
  "DeleteRange, no leader": "2 context deadline exceeded",
  "Txn, no leader": "2 context deadline exceeded",
  "LeaseGrant, no leader": "2 context deadline exceeded",
  "Range, no leader": "2 context deadline exceeded",
  "Put without a short deadline, no leader: the request timeout": "2 context deadline exceeded",
};

const show = (a: ServerAnswer) => (a.code === undefined ? `no answer (${a.reset ? "reset" : "silence"})` : `${a.code} ${a.message}`);

async function answers(server: "etcd" | "etcd-ts", clusters: Array<[LocalCluster, string]>): Promise<Record<string, string>> {
  const label = `pending-${server}`;
  const cluster = await upCluster(label, { members: 3, server, electionMs: ELECTION_MS });
  clusters.push([cluster, label]);
  await waitConverged(cluster.endpoints().map(hostPort), 30_000);
  const leader = await waitLeader(cluster, 15_000);
  const kept = cluster.members.find((m) => m.name !== leader)!;
  const ep = hostPort(kept.clientUrl);
  const call = (service: string, method: string, req: object, deadlineMs = 1000) =>
    rawUnary(ep, { service, method }, req, { deadlineMs, patienceMs: 4000 }).then(show);
  const out: Record<string, string> = {};
  for (const m of cluster.members) if (m.name !== kept.name) await cluster.pause(m.name);
  try {
    // Within the election timeout the follower still follows the stopped leader.
    [out["Put, leader still known"], out["Range, leader still known"]] = await Promise.all([
      call("KV", "Put", { key: Buffer.from("k"), value: Buffer.from("v1") }),
      call("KV", "Range", { key: Buffer.from("k") }),
    ]);
    await waitUntil(async () => (await status(ep, 1000)).leader === "0", 4 * ELECTION_MS, `${kept.name} to lose its leader`);
    const long = call("KV", "Put", { key: Buffer.from("k"), value: Buffer.from("v3") }, REQUEST_TIMEOUT_MS + 3000);
    [out["Put, no leader"], out["DeleteRange, no leader"], out["Txn, no leader"], out["LeaseGrant, no leader"], out["Range, no leader"]] = await Promise.all([
      call("KV", "Put", { key: Buffer.from("k"), value: Buffer.from("v2") }),
      call("KV", "DeleteRange", { key: Buffer.from("k") }),
      call("KV", "Txn", { compare: [], success: [{ request_put: { key: Buffer.from("k"), value: Buffer.from("v4") } }], failure: [] }),
      call("Lease", "LeaseGrant", { TTL: 10 }),
      call("KV", "Range", { key: Buffer.from("k") }),
    ]);
    out["Put without a short deadline, no leader: the request timeout"] = await long;
  } finally {
    for (const m of cluster.members) if (m.name !== kept.name) await cluster.resume(m.name).catch(() => undefined);
  }
  return out;
}

describe("answers to requests a member cannot finish (leader and a follower stopped), as etcd's", { timeout: 150_000 }, () => {
  const clusters: Array<[LocalCluster, string]> = [];
  after(async () => {
    for (const [c, label] of clusters) await downCluster(c, label).catch(() => undefined);
  });

  test("etcd-ts answers each pending request with etcd's code and text, never DEADLINE_EXCEEDED or CANCELLED", async (t) => {
    const ts = await answers("etcd-ts", clusters);
    t.diagnostic(`etcd-ts: ${JSON.stringify(ts)}`);
    for (const [what, answer] of Object.entries(ts)) assert.doesNotMatch(answer, /^(1|4) /, `${what}: ${answer}`);
    assert.deepEqual(ts, ETCD_ANSWERS);
  });

  test("etcd 3.4 answers the same (the table above is etcd's)", { skip: etcdInstalled ? false : "etcd is not installed" }, async (t) => {
    const etcd = await answers("etcd", clusters);
    t.diagnostic(`etcd: ${JSON.stringify(etcd)}`);
    assert.deepEqual(etcd, ETCD_ANSWERS);
  });
});
