/** The backend's failure: what every write throws once lmdb failed to commit a batch. */
import { constants } from "node:os";

/** Thrown by every write after lmdb failed to commit a batch: in-memory state is ahead of disk. */
export class BackendFailedError extends Error {
  override readonly name = "BackendFailedError";
}

const osErrno: Readonly<Record<string, number>> = constants.errno;

/**
 * The error of a failed lmdb commit with its cause. A full disk shows as EIO here: lmdb reports a
 * short write (what ENOSPC gives a large pwrite) as EIO; a map that cannot grow is MDB_MAP_FULL.
 */
export function commitFailure(outer: Error, cause: unknown): Error {
  const c = cause instanceof Error ? cause : new Error(String(cause));
  const errno = (c as { code?: unknown }).code;
  const name = typeof errno === "number" ? Object.entries(osErrno).find(([, n]) => n === errno)?.[0] : undefined;
  const e = new BackendFailedError(`backend commit failed: ${c.message}${name ? ` (${name})` : ""}`);
  (e as { cause?: unknown }).cause = outer;
  return e;
}
