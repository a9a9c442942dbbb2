/**
 * --force-new-cluster, as etcd's restartAsStandaloneNode (etcdserver/raft.go): a member restarting
 * with its data becomes a one-member cluster. The WAL's uncommitted entries are discarded; conf
 * changes are appended at the commit index (this member added first if it is not a member, then
 * every other member removed: raft never sees an empty voter set) and committed; applying them
 * rewrites the membership to this member alone, and raft, with this member its only voter, elects
 * it. The members to remove are etcd's getIDs: the snapshot's, then those the log's conf changes
 * add or remove. (etcd takes the snapshot's voters only; its learners are removed here too, so the
 * result is one member either way.) Unlike etcd, which saves the entries without a hard state and
 * commits them in memory only, the new commit index is saved with them: a crash before the next
 * save does not leave them uncommitted.
 */
import { encodeMember } from "../membership/cluster.js";
import { decodeConfChange, encodeConfChange } from "../raft/conf-change-codec.js";
import { ConfChangeType, EntryType, type ConfState, type Entry, type HardState } from "../raft/types.js";

/** etcd's placeholder peer URL for a member that forces a cluster without being one of its members. */
const PLACEHOLDER_PEER_URL = "http://localhost:2380";

export interface StandaloneLog {
  /** The committed entries kept, then the appended conf changes. */
  readonly entries: Entry[];
  /** What must be saved to the WAL: the conf changes, committed by the hard state. */
  readonly appended: Entry[];
  readonly hardState: HardState;
  readonly discarded: number;
}

export function standaloneLog(self: bigint, snapshotConf: ConfState | undefined, entries: readonly Entry[], hs: HardState): StandaloneLog {
  const committed = entries.filter((e) => e.index <= hs.commit);
  const ids = memberIdsOf(snapshotConf, committed);
  const appended: Entry[] = [];
  let next = hs.commit + 1;
  const append = (type: ConfChangeType, nodeId: bigint, context: Uint8Array) =>
    appended.push({ term: hs.term, index: next++, type: EntryType.ConfChange, data: encodeConfChange({ type, nodeId, context }) });
  if (!ids.includes(self)) append(ConfChangeType.AddNode, self, encodeMember({ id: self, name: "", peerUrls: [PLACEHOLDER_PEER_URL], clientUrls: [], isLearner: false }));
  for (const id of ids) if (id !== self) append(ConfChangeType.RemoveNode, id, new Uint8Array(0));
  const all = [...committed, ...appended];
  const commit = all.length > 0 ? all[all.length - 1]!.index : hs.commit;
  return { entries: all, appended, hardState: { ...hs, commit }, discarded: entries.length - committed.length };
}

/**
 * `hs` with its commit index raised to what the backend has applied (`appliedIndex`, its consistent
 * index), as far as `entries` (the WAL's, after the snapshot) reach: a member applies only committed
 * entries, but the commit index it saved last may not be on disk (the WAL holds a commit-only hard
 * state for its next write, wal/wal.ts; or a power loss took it). Without this the standalone log
 * would discard applied entries and put its conf changes at indexes the backend skips as applied.
 */
export function withAppliedCommitted(hs: HardState, entries: readonly Entry[], appliedIndex: number): HardState {
  const last = entries.length > 0 ? entries[entries.length - 1]!.index : 0;
  const commit = Math.max(hs.commit, Math.min(appliedIndex, last));
  return commit === hs.commit ? hs : { ...hs, commit };
}

/** etcd's getIDs: the snapshot's members, then the conf changes' additions and removals, in ID order. */
function memberIdsOf(snapshotConf: ConfState | undefined, entries: readonly Entry[]): bigint[] {
  const ids = new Set<bigint>([...(snapshotConf?.voters ?? []), ...(snapshotConf?.learners ?? [])]);
  for (const e of entries) {
    if (e.type !== EntryType.ConfChange) continue;
    let cc;
    try {
      cc = decodeConfChange(e.data);
    } catch {
      continue; // applied as a no-op everywhere (conf-change-plan.ts)
    }
    if (cc.type === ConfChangeType.AddNode || cc.type === ConfChangeType.AddLearnerNode) ids.add(cc.nodeId);
    else if (cc.type === ConfChangeType.RemoveNode) ids.delete(cc.nodeId);
  }
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
