/**
 * Majority quorum arithmetic over a voter set (etcd's quorum.MajorityConfig). Learners never
 * appear here. etcd-ts uses simple (one-at-a-time) membership changes, so there is no joint
 * configuration.
 */
import type { NodeId } from "./types.js";

export enum VoteResult {
  Pending = 1,
  Lost = 2,
  Won = 3,
}

/**
 * The highest index acknowledged by a majority of voters, given each voter's acked index
 * (missing voters count as 0). An empty voter set yields 0 (nothing can be committed).
 */
export function committedIndex(voters: ReadonlySet<NodeId>, acked: (id: NodeId) => number): number {
  const n = voters.size;
  if (n === 0) return 0;
  if (n === 1) {
    for (const id of voters) return acked(id);
  }
  const idx = n <= SCRATCH.length ? SCRATCH : new Array<number>(n);
  let k = 0;
  for (const id of voters) idx[k++] = acked(id);
  // Insertion sort, descending (n is tiny: 3, 5, 7 voters).
  for (let i = 1; i < n; i++) {
    const v = idx[i]!;
    let j = i - 1;
    while (j >= 0 && idx[j]! < v) {
      idx[j + 1] = idx[j]!;
      j--;
    }
    idx[j + 1] = v;
  }
  // With n voters, the (n/2+1)-th largest value is acked by a majority.
  return idx[n >> 1]!;
}

/** Scratch space for committedIndex (synchronous, so sharing it is safe). */
const SCRATCH: number[] = new Array<number>(16).fill(0);

/**
 * Tally: Won if a majority voted yes, Lost if a majority can no longer be reached, else
 * Pending. An empty voter set wins (by convention, as etcd).
 */
export function voteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean> | undefined): VoteResult {
  const n = voters.size;
  if (n === 0) return VoteResult.Won;
  let yes = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes?.get(id);
    if (v === undefined) missing++;
    else if (v) yes++;
  }
  const q = (n >> 1) + 1;
  if (yes >= q) return VoteResult.Won;
  if (yes + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}
