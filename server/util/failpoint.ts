/**
 * Crash points for tests, in the spirit of etcd's gofail: when the environment variable
 * ETCDTS_FAILPOINTS names a point (a comma-separated list), the process kills itself with SIGKILL
 * the first time it reaches that point. Unset (always, outside tests), every point is a no-op check
 * of an empty set. The variable is deliberately not ETCD_*: it is no etcd flag.
 *
 * Points (in the order a follower installs a snapshot from the leader):
 *   snapDbBeforeRename    received database written, before fsync and rename to <index>.snap.db
 *   snapDbAfterRename     <index>.snap.db in place, before raft sees the snapshot message
 *   raftAfterSaveSnapFile the .snap file written, before the WAL snapshot record
 *   raftAfterSaveSnapWal  the WAL snapshot record written, before the hard state and entries
 *   raftAfterSaveHardState hard state (commit = snapshot index) durable, before the backend swap
 *   backendAfterRename    <index>.snap.db renamed over the backend, before it is reopened
 *   serverAfterApplySnap  the new backend is open and applied, before the applier moves on
 */
export const FAILPOINT_ENV = "ETCDTS_FAILPOINTS";

const armed = new Set(
  (process.env[FAILPOINT_ENV] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== ""),
);

/** Kills this process (SIGKILL: no cleanup, no flush) if `name` is armed. */
export function failpoint(name: string): void {
  if (armed.size === 0 || !armed.has(name)) return;
  process.stderr.write(`{"level":"warn","msg":"failpoint reached; killing the process","failpoint":"${name}"}\n`);
  process.kill(process.pid, "SIGKILL");
}
