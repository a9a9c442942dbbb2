/**
 * --force-new-cluster's log rewrite (etcdserver/force-new-cluster.ts), as etcd's
 * restartAsStandaloneNode, getIDs and createConfigChangeEnts: uncommitted entries discarded, this
 * member added first when it is not a member, every other member removed in ID order, all of it
 * committed at the term of the hard state.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { standaloneLog, withAppliedCommitted } from "../../server/etcdserver/force-new-cluster.js";
import { decodeMember, encodeMember } from "../../server/membership/cluster.js";
import { decodeConfChange, encodeConfChange } from "../../server/raft/conf-change-codec.js";
import { ConfChangeType, EntryType, type Entry } from "../../server/raft/types.js";

const cc = (index: number, type: ConfChangeType, nodeId: bigint): Entry => ({
  term: 1,
  index,
  type: EntryType.ConfChange,
  data: encodeConfChange({ type, nodeId, context: encodeMember({ id: nodeId, name: "", peerUrls: [`http://h${nodeId}:2380`], clientUrls: [], isLearner: false }) }),
});
const normal = (index: number, term = 2): Entry => ({ term, index, type: EntryType.Normal, data: new Uint8Array([1]) });
const changes = (es: readonly Entry[]) => es.map((e) => decodeConfChange(e.data)).map((c) => `${ConfChangeType[c.type]} ${c.nodeId}`);

test("every other member removed (members from the log's conf changes), uncommitted entries discarded, all committed", () => {
  const log = [cc(1, ConfChangeType.AddNode, 30n), cc(2, ConfChangeType.AddNode, 10n), cc(3, ConfChangeType.AddNode, 20n), cc(4, ConfChangeType.AddLearnerNode, 40n), normal(5), cc(6, ConfChangeType.RemoveNode, 30n), normal(7), normal(8)];
  const r = standaloneLog(20n, undefined, log, { term: 3, vote: 10n, commit: 7 });
  assert.equal(r.discarded, 1, "entry 8 was not committed");
  assert.deepEqual(changes(r.appended), ["RemoveNode 10", "RemoveNode 40"]);
  assert.deepEqual(r.appended.map((e) => [e.index, e.term]), [[8, 3], [9, 3]], "appended at the commit index, in the hard state's term");
  assert.deepEqual(r.entries.map((e) => e.index), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(r.hardState, { term: 3, vote: 10n, commit: 9 });
  assert.equal(r.appended.every((e) => decodeConfChange(e.data).context.length === 0), true, "a removal carries no member");
});

test("members from the snapshot's configuration too; a member that is not one adds itself first (etcd's placeholder peer URL)", () => {
  const r = standaloneLog(99n, { voters: [2n, 1n], learners: [3n] }, [normal(11)], { term: 4, vote: 0n, commit: 11 });
  assert.deepEqual(changes(r.appended), ["AddNode 99", "RemoveNode 1", "RemoveNode 2", "RemoveNode 3"]);
  assert.deepEqual(decodeMember(decodeConfChange(r.appended[0]!.data).context).peerUrls, ["http://localhost:2380"]);
  assert.equal(r.hardState.commit, 15);
});

test("already alone: nothing appended", () => {
  const r = standaloneLog(5n, { voters: [5n], learners: [] }, [normal(3)], { term: 1, vote: 5n, commit: 3 });
  assert.deepEqual(r.appended, []);
  assert.equal(r.hardState.commit, 3);
});

test("entries the backend applied count as committed when the WAL's commit index is behind (a held or lost commit-only hard state)", () => {
  const log = [cc(1, ConfChangeType.AddNode, 10n), cc(2, ConfChangeType.AddNode, 20n), normal(3), normal(4), normal(5)];
  const hs = { term: 2, vote: 10n, commit: 3 };
  const raised = withAppliedCommitted(hs, log, 4);
  assert.deepEqual(raised, { term: 2, vote: 10n, commit: 4 });
  const r = standaloneLog(10n, undefined, log, raised);
  assert.equal(r.discarded, 1, "only entry 5, never applied, is dropped");
  assert.deepEqual(r.appended.map((e) => e.index), [5], "the removal lands after the applied entries, where the backend applies it");
  assert.equal(withAppliedCommitted(hs, log, 2), hs, "a commit index ahead of the backend stays");
  assert.deepEqual(withAppliedCommitted(hs, log, 9).commit, 5, "never beyond the last entry the WAL holds");
  assert.equal(withAppliedCommitted(hs, [], 9), hs, "no entries after the snapshot: nothing to raise");
});
