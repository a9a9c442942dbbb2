/**
 * A start-up check of the backend against the raft log. Entries are applied only after the WAL
 * holds them durably, so the backend's consistent index (the last entry applied into it) can never
 * be beyond the last index the WAL and the newest snapshot give the raft log. If it is, the WAL
 * lost entries the backend applied (damage, a cut or deleted segment): new entries would take
 * indexes the backend believes applied and be skipped, so the member would look healthy and fail
 * every write. Such a member refuses to start instead (etcd 3.5's verify package checks the same
 * relation, against the hard state's commit).
 *
 * Precondition on snapshot installation: the database a follower receives with a snapshot must
 * have that snapshot's index as its consistent index, as etcd's createMergedSnapshotMessage
 * ensures. A database copied later than the snapshot (ahead of it) would make a follower killed
 * right after installing it, before its WAL reached the database's index, fail this check.
 */
export class InconsistentStorageError extends Error {
  override readonly name = "InconsistentStorageError";
}

export interface StorageView {
  /** Index of the last entry applied into the backend. */
  readonly consistentIndex: number;
  /** Index of the last entry of the raft log after loading the snapshot and the WAL. */
  readonly lastLogIndex: number;
  readonly walDir: string;
  readonly backendPath: string;
}

export function checkBackendWithinLog(v: StorageView): void {
  if (v.consistentIndex <= v.lastLogIndex) return;
  throw new InconsistentStorageError(
    `backend ${v.backendPath} has applied raft entries up to index ${v.consistentIndex}, but the WAL in ${v.walDir} ` +
      `and the newest snapshot hold the log only up to index ${v.lastLogIndex}: the WAL lost acknowledged entries. ` +
      `Refusing to start; remove this member and add it back (or restore the cluster from a snapshot).`,
  );
}
