/**
 * Size bounds on the peer port: an oversized raft message frame is refused (the member closes the
 * raft stream after reading its length) and oversized snapshot chunks are refused
 * (RESOURCE_EXHAUSTED), without the member buffering them: its peak RSS (VmHWM) grows by
 * far less than what was sent. The member stays up. Figures are reported, not timed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { encodeMessage } from "../../server/raft/message-codec.js";
import { snapMessage } from "../support/raft-message.js";
import { MAX_SNAPSHOT_CHUNK_BYTES } from "../../server/transport/limits.js";
import { PeerClient, type CallOutcome, type StreamOutcome } from "../support/peer-client.js";
import { downCluster, upCluster, type LocalCluster } from "../support/launcher.js";
import { Kv, hostPort, rpc } from "../support/cluster-client.js";

const MiB = 1024 * 1024;
const OVERSIZED = 96 * MiB;

function memKiB(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}


describe("the peer port bounds what a peer can make a member hold in memory", { timeout: 180_000 }, () => {
  const label = "peerlimits";
  let cluster: LocalCluster;
  before(async () => {
    cluster = await upCluster(label, { members: 1, server: "etcd-ts" });
  });
  after(() => downCluster(cluster, label));

  test(`a ${OVERSIZED / MiB} MiB raft message and oversized snapshot chunks are refused; RSS does not follow`, async (t) => {
    const m = cluster.members[0]!;
    const ep = hostPort(m.clientUrl);
    const c = rpc(ep, "Maintenance");
    const st = await c.call<{ header: { cluster_id: string; member_id: string } }>("Status", {});
    c.close();
    const clusterId = BigInt(st.header.cluster_id);
    const self = BigInt(st.header.member_id);
    // the member itself is the only member: speak as it (as a compromised or confused peer could)
    const id = { clusterId, from: self, to: self };
    const pid = m.pid!;
    const before = memKiB(pid);
    const client = new PeerClient(m.peerUrl);
    const big = new Uint8Array(OVERSIZED).fill(7);
    const snapMsg = encodeMessage(snapMessage(self, self, { index: 1_000_000, term: 1 }));
    // refused: a snapshot chunk with RESOURCE_EXHAUSTED, a raft stream by the member cutting it
    const refused = (o: CallOutcome | StreamOutcome) => ("cut" in o ? o.cut : o.code === grpc.status.RESOURCE_EXHAUSTED);
    const steps: [string, () => Promise<CallOutcome | StreamOutcome>][] = [
      [`a ${OVERSIZED / MiB} MiB raft message`, () => client.stream(id, [[big]])],
      [`a ${OVERSIZED / MiB} MiB snapshot chunk`, () => client.snapshot(id, [{ message: snapMsg }, { db: big }])],
      [`a snapshot chunk just over ${MAX_SNAPSHOT_CHUNK_BYTES} bytes`, () => client.snapshot(id, [{ message: snapMsg }, { db: new Uint8Array(MAX_SNAPSHOT_CHUNK_BYTES + 1) }])],
    ];
    const outcomes: [string, CallOutcome | StreamOutcome][] = [];
    try {
      for (const [what, send] of steps) {
        outcomes.push([what, await send()]);
        const mem = memKiB(pid);
        t.diagnostic(`after ${what}: ${refused(outcomes.at(-1)![1]) ? "refused" : `not refused (${JSON.stringify(outcomes.at(-1)![1])})`}; member RSS ${mem.rss} kB, peak ${mem.hwm} kB (before: ${before.rss} kB, peak ${before.hwm} kB)`);
      }
    } finally {
      client.close();
    }
    const afterMem = memKiB(pid);
    for (const [what, o] of outcomes) assert.ok(refused(o), `${what} is refused: ${JSON.stringify(o)}`);
    assert.ok(afterMem.hwm - before.hwm < OVERSIZED / 1024 / 4, `peak RSS grew by ${afterMem.hwm - before.hwm} kB, far less than the ${OVERSIZED / 1024} kB sent`);
    assert.ok(cluster.members[0]!.running, "the member is still running");
    const kv = new Kv(ep);
    await kv.put("still", "up");
    kv.close();
  });
});
