import { test } from "node:test";
import assert from "node:assert/strict";
import { ProposalKind, decodeProposal, encodeProposal } from "../../server/pb/raft-entry.js";
import { IdGenerator } from "../../server/etcdserver/id-generator.js";

test("a proposal round-trips with its uint64 request id; the leader's empty no-op decodes to nothing", () => {
  const payload = Buffer.from([1, 2, 3]);
  const p = decodeProposal(encodeProposal({ kind: ProposalKind.Txn, id: 0xffff000000000001n, payload }));
  assert.equal(p?.kind, ProposalKind.Txn);
  assert.equal(p?.id, 0xffff000000000001n);
  assert.deepEqual(Buffer.from(p!.payload), payload);
  assert.equal(decodeProposal(new Uint8Array()), undefined);
});

test("request ids are unique and carry the member prefix", () => {
  const g = new IdGenerator(0x1234n, 1_700_000_000_000);
  const a = g.nextId();
  const b = g.nextId();
  assert.notEqual(a, b);
  assert.equal(a >> 48n, 0x1234n);
});
