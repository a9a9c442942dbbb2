/**
 * Hostile peer traffic and committed entries that cannot be applied.
 *
 * 1. Crafted MsgProps on the peer port (entries whose data does not decode, a conf change that does
 *    not decode), sent with a real member's ID and with a made-up one: nothing crashes, nothing is
 *    committed, and the members stay identical.
 * 2. Entries that cannot be applied already committed in every member's log (written into each WAL
 *    while the members are down, as a member of an older version or a damaged log would leave them):
 *    every member starts, applies them as the same no-op (same applied index, same HashKV), logs each
 *    once with its index, and starts again afterwards. Once on 3 members, once on a single member.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { serviceDefinition } from "../../server/pb/grpc-services.js";
import { ProposalKind, encodeProposal, jsonPayload } from "../../server/pb/raft-entry.js";
import { encodeMessage } from "../../server/raft/message-codec.js";
import { EntryType, MessageType, type Entry, type Message } from "../../server/raft/types.js";
import { Snapshotter } from "../../server/snap/snapshotter.js";
import { Wal } from "../../server/wal/wal.js";
import { PeerClient } from "../support/peer-client.js";
import { downCluster, memberOf, readLog, upCluster, type LocalCluster } from "../support/launcher.js";
import { Kv, hashKV, hostPort, rpc, sleep, status, waitConverged, waitLeader } from "../support/cluster-client.js";

const kvDef = serviceDefinition("etcdserverpb", "KV");

function msg(type: MessageType, from: bigint, to: bigint, entries: Entry[]): Message {
  return { type, from, to, term: 0, logTerm: 0, index: 0, commit: 0, rejectHint: 0, reject: false, context: new Uint8Array(), entries, snapshot: undefined, commitOnly: false };
}

/** Entry payloads no etcd-ts member proposes: each must become a no-op. */
function badPayloads(): { type: EntryType; data: Uint8Array }[] {
  return [
    { type: EntryType.Normal, data: encodeProposal({ kind: ProposalKind.Put, id: 1n, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]) }) },
    { type: EntryType.Normal, data: Buffer.from([9, 9, 9]) },
    { type: EntryType.Normal, data: encodeProposal({ kind: 200 as ProposalKind, id: 2n, payload: Buffer.from("x") }) },
    { type: EntryType.Normal, data: encodeProposal({ kind: ProposalKind.MemberAttributes, id: 3n, payload: Buffer.from("{") }) },
    { type: EntryType.Normal, data: encodeProposal({ kind: ProposalKind.Put, id: 4n, payload: kvDef.Put!.requestSerialize({ key: Buffer.alloc(0), value: Buffer.from("v") }) }) },
    { type: EntryType.ConfChange, data: Buffer.from("not a conf change") },
  ];
}

async function identity(endpoint: string): Promise<{ clusterId: bigint; memberId: bigint }> {
  const c = rpc(endpoint, "Maintenance");
  try {
    const r = await c.call<{ header: { cluster_id: string; member_id: string } }>("Status", {});
    return { clusterId: BigInt(r.header.cluster_id), memberId: BigInt(r.header.member_id) };
  } finally {
    c.close();
  }
}

/** With every member down: append the same entries, committed, to every member's WAL. Returns their indexes. */
async function injectCommitted(cluster: LocalCluster, payloads: { type: EntryType; data: Uint8Array }[]): Promise<number[]> {
  const tails = new Set<string>();
  let indexes: number[] = [];
  for (const m of cluster.members) {
    const walDir = join(m.dataDir, "member", "wal");
    const snap = await new Snapshotter(join(m.dataDir, "member", "snap")).loadNewestAvailable(await Wal.validSnapshotEntries(walDir));
    const { wal, hardState, entries } = await Wal.open(walDir, snap ? { index: snap.metadata.index, term: snap.metadata.term } : { index: 0, term: 0 });
    const last = entries.at(-1)?.index ?? snap?.metadata.index ?? 0;
    tails.add(`${last}@${hardState.term}`);
    const add: Entry[] = payloads.map((p, i) => ({ term: hardState.term, index: last + 1 + i, type: p.type, data: p.data }));
    await wal.save({ ...hardState, commit: last + add.length }, add, true);
    await wal.close();
    indexes = add.map((e) => e.index);
  }
  assert.equal(tails.size, 1, `every member's log ends at the same index and term (${[...tails].join(", ")})`);
  return indexes;
}

async function checkIdentical(cluster: LocalCluster, what: string): Promise<number> {
  const eps = cluster.endpoints().map(hostPort);
  const st = await waitConverged(eps, 60_000);
  const hashes = await Promise.all(eps.map((e) => hashKV(e, st[0]!.revision)));
  assert.equal(new Set(hashes.map((h) => h.hash)).size, 1, `${what}: same HashKV on every member: ${JSON.stringify(hashes)}`);
  assert.equal(new Set(st.map((s) => s.raftAppliedIndex)).size, 1, `${what}: same applied index on every member`);
  return st[0]!.raftAppliedIndex;
}

async function restartAll(cluster: LocalCluster): Promise<void> {
  for (const m of cluster.members) await cluster.kill(m.name, "SIGKILL");
  for (const m of cluster.members) await cluster.start(m.name);
  await cluster.waitHealthy(undefined, 60_000);
}

for (const size of [3, 1] as const) {
  describe(`${size} member(s): hostile peer messages and committed entries that cannot be applied`, { timeout: 240_000 }, () => {
    const label = `hostile${size}`;
    let cluster: LocalCluster;
    before(async () => {
      cluster = await upCluster(label, { members: size, server: "etcd-ts" });
    });
    after(() => downCluster(cluster, label));

    // a lone member has no peer that could send it a proposal; its case is the injected entries below
    if (size > 1) test("crafted MsgProps with undecodable entries, from a member and from a made-up sender: dropped, nobody crashes", async () => {
      const eps = cluster.endpoints().map(hostPort);
      await waitConverged(eps, 30_000);
      const leader = await waitLeader(cluster, 10_000);
      const follower = cluster.members.find((m) => m.name !== leader)!;
      const lid = await identity(hostPort(memberOf(cluster, leader).clientUrl));
      const fid = await identity(hostPort(follower.clientUrl));
      const before = await status(eps[0]!);
      const entries = badPayloads().map((p) => ({ term: 0, index: 0, ...p }));
      const client = new PeerClient(memberOf(cluster, leader).peerUrl);
      try {
        // as the follower (a member), one message per bad entry and all of them together
        const asMember = { clusterId: lid.clusterId, from: fid.memberId, to: lid.memberId };
        const props = [...entries.map((e) => [e]), entries].map((es) => encodeMessage(msg(MessageType.Prop, fid.memberId, lid.memberId, es)));
        await client.stream(asMember, [props]);
        // as a made-up member, and claiming to be the follower on a made-up member's stream
        const madeUp = 0xdeadbeefn;
        await client.stream({ ...asMember, from: madeUp }, [[encodeMessage(msg(MessageType.Prop, madeUp, lid.memberId, entries))]]);
        await client.stream({ ...asMember, from: madeUp }, [[encodeMessage(msg(MessageType.Prop, fid.memberId, lid.memberId, entries))]]);
        // a follower forwards proposals to the leader: send it the same
        const fc = new PeerClient(follower.peerUrl);
        await fc.stream({ clusterId: lid.clusterId, from: lid.memberId, to: fid.memberId }, [[encodeMessage(msg(MessageType.Prop, lid.memberId, fid.memberId, entries))]]);
        fc.close();
      } finally {
        client.close();
      }
      await sleep(1500);
      for (const m of cluster.members) assert.ok(memberOf(cluster, m.name).running, `${m.name} is still running`);
      const applied = await checkIdentical(cluster, "after crafted proposals");
      assert.ok(applied - before.raftAppliedIndex <= 2, `nothing crafted was committed (applied index ${before.raftAppliedIndex} -> ${applied})`);
      const log = readLog(memberOf(cluster, leader).logFile);
      assert.match(log, /dropping a forwarded proposal that this member would not propose/);
      assert.match(log, /not a member of the cluster/);
      await new Kv(eps[0]!).put("still", "up");
    });

    test("entries that cannot be applied, committed in every log: the same no-op everywhere, across restarts", async () => {
      const eps = cluster.endpoints().map(hostPort);
      await new Kv(eps[0]!).put("before", "1");
      await checkIdentical(cluster, "before injection");
      for (const m of cluster.members) await cluster.kill(m.name, "SIGKILL");
      const indexes = await injectCommitted(cluster, badPayloads());
      for (const m of cluster.members) await cluster.start(m.name);
      await cluster.waitHealthy(undefined, 60_000);
      const applied = await checkIdentical(cluster, "after applying the injected entries");
      assert.ok(applied >= indexes.at(-1)!, `every member applied past the injected entries (${applied} >= ${indexes.at(-1)})`);
      for (const m of cluster.members) {
        const log = readLog(memberOf(cluster, m.name).logFile);
        for (const i of indexes) {
          const lines = log.split("\n").filter((l) => l.includes("cannot be applied") && l.includes(`"index":${i},`));
          assert.equal(lines.length, 1, `${m.name} logs entry ${i} once`);
        }
      }
      await restartAll(cluster);
      await checkIdentical(cluster, "after a second restart");
      const kv = new Kv(eps[0]!);
      await kv.put("after", "2");
      assert.equal((await kv.get("before")).value, "1");
      kv.close();
    });
  });
}
