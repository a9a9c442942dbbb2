/**
 * A start-up check of the backend against the raft log. This member applies an entry only after
 * its WAL holds it durably, so entries it applied itself are in its WAL. If the WAL open had to cut
 * a torn tail and the backend's consistent index (the last entry applied into it) is now beyond the
 * last index the WAL and the newest snapshot give the raft log, the cut took entries the backend
 * had applied, hence acknowledged ones: new entries would take indexes the backend believes applied
 * and be skipped, so the member would look healthy and fail every write (and could vote for a log
 * without writes it had acknowledged). Such a member refuses to start.
 *
 * Without a repair, a backend ahead of the log is legitimate: a follower that installs a snapshot
 * from the leader gets a database copied when it was sent, which can be ahead of the snapshot's
 * index, until the entries after the snapshot arrive (etcd avoids it by sending a snapshot at the
 * database's own index, createMergedSnapshotMessage). It is only logged then.
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
  /** The torn tail Wal.open cut at this start, if any. */
  readonly walRepaired?: { readonly file: string; readonly offset: number };
}

export interface ConsistencyLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export function checkBackendWithinLog(v: StorageView, logger?: ConsistencyLogger): void {
  if (v.consistentIndex <= v.lastLogIndex) return;
  if (v.walRepaired) {
    throw new InconsistentStorageError(
      `backend ${v.backendPath} has applied raft entries up to index ${v.consistentIndex}, but after the torn tail of ` +
        `${v.walRepaired.file} was cut at offset ${v.walRepaired.offset} the WAL in ${v.walDir} and the newest snapshot hold ` +
        `the log only up to index ${v.lastLogIndex}: the cut lost acknowledged entries. Refusing to start; remove this member ` +
        `and add it back (or restore the cluster from a snapshot).`,
    );
  }
  logger?.warn(`backend ${v.backendPath} is ahead of the raft log (consistent index ${v.consistentIndex}, last log index ${v.lastLogIndex}): expected only right after a snapshot from the leader was installed`, {
    "consistent-index": v.consistentIndex,
    "last-index": v.lastLogIndex,
  });
}
