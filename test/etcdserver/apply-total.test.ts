/**
 * Apply is total: whatever the bytes of a committed entry, every member applies it without throwing
 * and ends in the same state (same consistent index, same HashKV, same raft configuration); an entry
 * that cannot be applied is a no-op logged once with its index, and replaying the log after a
 * restart neither throws nor logs it again.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import pino from "pino";
import { serviceDefinition } from "../../server/pb/grpc-services.js";
import { Applier, type ApplyResult } from "../../server/etcdserver/applier.js";
import { MAX_TXN_DEPTH } from "../../server/etcdserver/entry-decode.js";
import { ProposalKind, encodeProposal, jsonPayload } from "../../server/pb/raft-entry.js";
import { WaitRegistry } from "../../server/etcdserver/wait.js";
import { LEASE_BUCKET, Lessor } from "../../server/lease/index.js";
import { emptyCluster, encodeMember, type Cluster } from "../../server/membership/cluster.js";
import { ErrEmptyKey, ErrMemberNotFound } from "../../server/pb/errors.js";
import { ErrFutureRev } from "../../server/mvcc/errors.js";
import { ErrLeaseNotFound, ErrLeaseTTLTooLarge } from "../../server/lease/errors.js";
import { encodeConfChange } from "../../server/raft/conf-change-codec.js";
import { MemoryStorage } from "../../server/raft/memory-storage.js";
import { RawNode } from "../../server/raft/raw-node.js";
import { ConfChangeType, EntryType, type ConfState, type Entry } from "../../server/raft/types.js";
import { openTempStore, type TempStore } from "../mvcc/helpers.js";

const kvDef = serviceDefinition("etcdserverpb", "KV");
const leaseDef = serviceDefinition("etcdserverpb", "Lease");
const put = (key: string, value: string, extra: object = {}) => kvDef.Put!.requestSerialize({ key: Buffer.from(key), value: Buffer.from(value), ...extra });
const member = (id: bigint, url: string) => encodeMember({ id, name: "", peerUrls: [url], clientUrls: [], isLearner: false });

/** A TxnRequest nested `depth` deep, encoded by hand (protobufjs refuses to encode past 100 levels). */
function nestedTxn(depth: number): Buffer {
  const field = (no: number, body: Buffer) => Buffer.concat([Buffer.from([(no << 3) | 2]), varint(body.length), body]);
  const varint = (n: number) => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
  };
  // TxnRequest.success = 2, RequestOp.request_put = 2, RequestOp.request_txn = 4, PutRequest.key = 1
  let txn = field(2, field(2, field(1, Buffer.from("deep"))));
  for (let i = 1; i < depth; i++) txn = field(2, field(4, txn));
  return txn;
}

/** Every kind of entry a peer or a damaged log could commit, with the result each must give. */
function crafted(): { entries: Entry[]; expect: Map<bigint, Error | "ok"> } {
  const expect = new Map<bigint, Error | "ok">();
  const out: Entry[] = [];
  const normal = (data: Uint8Array) => out.push({ term: 2, index: out.length + 1, type: EntryType.Normal, data });
  const confChange = (type: ConfChangeType, nodeId: bigint, context: Uint8Array) =>
    out.push({ term: 2, index: out.length + 1, type: EntryType.ConfChange, data: encodeConfChange({ type, nodeId, context }) });
  const req = (id: bigint, kind: number, payload: Uint8Array, result: Error | "ok" | undefined) => {
    normal(encodeProposal({ kind, id, payload }));
    if (result) expect.set(id, result);
  };
  // the bootstrap conf changes of a 3-voter cluster (raft already has them)
  for (const id of [1n, 2n, 3n]) confChange(ConfChangeType.AddNode, id, member(id, `http://127.0.0.1:${2379 + Number(id)}`));
  normal(new Uint8Array()); // the leader's no-op
  req(100n, ProposalKind.Put, put("a", "1"), "ok");
  normal(Buffer.from([1, 2, 3, 4, 5])); // shorter than a request header
  req(101n, ProposalKind.Put, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), undefined); // not protobuf
  req(102n, 99, Buffer.from("?"), undefined); // unknown kind
  req(103n, ProposalKind.Put, put("", "empty key"), ErrEmptyKey);
  req(104n, ProposalKind.Txn, nestedTxn(MAX_TXN_DEPTH * 8), undefined);
  req(105n, ProposalKind.Txn, nestedTxn(20), "ok");
  req(106n, ProposalKind.MemberAttributes, Buffer.from("{not json"), undefined);
  req(107n, ProposalKind.MemberAttributes, jsonPayload({ memberId: "abc", name: 1 }), undefined);
  req(108n, ProposalKind.ClusterVersion, jsonPayload({ version: 5 }), undefined);
  req(109n, ProposalKind.LeaseGrant, leaseDef.LeaseGrant!.requestSerialize({ ID: "0", TTL: "10" }), ErrLeaseNotFound);
  req(110n, ProposalKind.LeaseGrant, leaseDef.LeaseGrant!.requestSerialize({ ID: "7", TTL: "9223372036854775807" }), ErrLeaseTTLTooLarge);
  req(111n, ProposalKind.LeaseGrant, leaseDef.LeaseGrant!.requestSerialize({ ID: "-5", TTL: "30" }), "ok");
  req(112n, ProposalKind.LeaseRevoke, leaseDef.LeaseRevoke!.requestSerialize({ ID: "12345" }), ErrLeaseNotFound);
  req(113n, ProposalKind.Put, put("leased", "x", { lease: "424242" }), ErrLeaseNotFound);
  req(114n, ProposalKind.Compaction, kvDef.Compact!.requestSerialize({ revision: 1_000_000 }), ErrFutureRev);
  out.push({ term: 2, index: out.length + 1, type: EntryType.ConfChange, data: Buffer.from("garbage conf change") });
  confChange(ConfChangeType.AddNode, 9n, Buffer.from("not json"));
  confChange(ConfChangeType.AddNode, 9n, member(10n, "http://127.0.0.1:9"));
  confChange(ConfChangeType.RemoveNode, 77n, Buffer.alloc(0));
  confChange(ConfChangeType.AddLearnerNode, 2n, member(2n, "http://127.0.0.1:2381")); // would demote a voter
  confChange(ConfChangeType.UpdateNode, 88n, member(88n, "http://127.0.0.1:88"));
  confChange(ConfChangeType.AddNode, 0n, Buffer.alloc(0));
  confChange(ConfChangeType.RemoveNode, 55n, Buffer.from(JSON.stringify({ id: "55", peerUrls: [], requestId: "115" })));
  expect.set(115n, ErrMemberNotFound);
  req(116n, ProposalKind.Put, put("b", "2"), "ok");
  return { entries: out, expect };
}

interface Member {
  t: TempStore;
  applier: Applier;
  waits: WaitRegistry<ApplyResult>;
  warnings: () => { index?: number; msg: string }[];
  confState: () => ConfState;
}

const stores: TempStore[] = [];
after(async () => {
  for (const t of stores) await t.destroy().catch(() => undefined);
});

function newMember(voters: bigint[], t: TempStore = openTempStore()): Member {
  if (!stores.includes(t)) stores.push(t);
  const lines: { index?: number; msg: string; level: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as { index?: number; msg: string; level: number });
      cb();
    },
  });
  const logger = pino({ level: "info" }, sink);
  const node = new RawNode({
    id: voters[0]!,
    electionTick: 10,
    heartbeatTick: 1,
    storage: new MemoryStorage(),
    applied: 0,
    maxSizePerMsg: 1 << 20,
    maxInflightMsgs: 256,
    maxUncommittedEntriesSize: 0,
    checkQuorum: false,
    preVote: false,
    randInt: () => 0,
  });
  node.bootstrap(voters.map((id) => ({ id, context: member(id, `http://127.0.0.1:${2379 + Number(id)}`) })));
  let cs: ConfState = { voters: [...voters], learners: [] };
  const lessor = new Lessor(t.backend.bucket(LEASE_BUCKET), { minTtl: 2 });
  t.store.setLeaseHooks(lessor.hooks);
  const waits = new WaitRegistry<ApplyResult>();
  let cluster: Cluster = emptyCluster(1n);
  const applier = new Applier({
    store: t.store,
    cluster,
    appliedIndex: 0,
    waits,
    hooks: {
      confState: () => cs,
      applyConfChange: (cc) => (cs = node.applyConfChange(cc)),
      onNoopApplied: () => undefined,
      onClusterChanged: (c) => void (cluster = c),
      onClusterVersion: () => undefined,
    },
    logger,
    leases: lessor.hooks,
    lessor,
  });
  return { t, applier, waits, confState: () => cs, warnings: () => lines.filter((l) => l.level >= 40) };
}

describe("apply is total", () => {
  it("every crafted entry applies without throwing, the same on two members, each refusal logged once with its index", async () => {
    const { entries, expect } = crafted();
    const results = [new Map<bigint, ApplyResult>(), new Map<bigint, ApplyResult>()];
    const members = [newMember([1n, 2n, 3n]), newMember([1n, 2n, 3n])];
    members.forEach((m, i) => {
      for (const id of expect.keys()) void m.waits.register(id).then((r) => results[i]!.set(id, r));
      m.applier.apply(entries);
    });
    await Promise.all(members.map((m) => m.t.backend.flush()));
    await new Promise((r) => setImmediate(r));
    const last = entries.at(-1)!.index;
    for (const [i, m] of members.entries()) {
      assert.equal(m.applier.appliedIndex, last, `member ${i} applied every entry`);
      assert.equal(m.t.store.consistentIndex(), last, `member ${i}: every entry moved the consistent index`);
      assert.deepEqual(m.confState(), { voters: [1n, 2n, 3n], learners: [] }, `member ${i}: no crafted conf change reached raft`);
      for (const [id, want] of expect) {
        const got = results[i]!.get(id);
        assert.ok(got, `member ${i}: request ${id} got a result`);
        if (want === "ok") assert.equal(got.ok, true, `member ${i}: request ${id} applied (${got.ok ? "" : got.err.message})`);
        else assert.equal(got.ok ? undefined : got.err, want, `member ${i}: request ${id} failed with ${want.message}`);
      }
    }
    const [a, b] = members.map((m) => m.t.store.hashKV(0));
    assert.deepEqual(a, b, "same HashKV on both members");
    const refused = members[0]!.warnings().map((w) => w.index).filter((x) => x !== undefined);
    assert.deepEqual(refused, [...new Set(refused)], "each refused entry is logged once");
    assert.ok(refused.length >= 15, `refusals logged with their index (${refused.join(",")})`);

    // a restart replays the log above the (absent) snapshot: nothing throws, nothing is logged again
    const m0 = members[0]!;
    await m0.t.reopen();
    const again = newMember([1n, 2n, 3n], m0.t);
    again.applier.apply(entries);
    assert.equal(again.applier.appliedIndex, last);
    assert.deepEqual(again.t.store.hashKV(0), a, "same HashKV after the replay");
    assert.deepEqual(
      again.warnings().filter((w) => w.msg.includes("cannot be applied")),
      [],
      "replayed refusals are not logged again",
    );
  });

  it("a conf change that would remove the last voter is a no-op, not a raft panic", () => {
    const m = newMember([1n]);
    const entries: Entry[] = [
      { term: 1, index: 1, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 1n, context: member(1n, "http://127.0.0.1:2380") }) },
      { term: 1, index: 2, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 1n, context: Buffer.alloc(0) }) },
      { term: 1, index: 3, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 1n, context: member(1n, "http://127.0.0.1:2380") }) },
    ];
    m.applier.apply(entries);
    assert.equal(m.applier.appliedIndex, 3);
    assert.deepEqual(m.confState(), { voters: [1n], learners: [] });
    assert.equal(m.applier.membership().members.size, 1);
  });
});
