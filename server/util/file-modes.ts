/**
 * Private file modes, as etcd's pkg/fileutil: every directory of a member's data is 0700 and every
 * file 0600 (PrivateDirMode / PrivateFileMode), so no other local user can read the keys or the
 * raft log. A directory found with another mode at start-up is logged with etcd's warning text
 * and, unlike etcd (which only warns), changed to 0700 when this process may (it owns it); a file
 * wider than 0600 is narrowed.
 */
import { accessSync, chmodSync, constants, mkdirSync, statSync } from "node:fs";

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

export interface ModeLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** Go's os.FileMode.String() for a permission (and directory bit): "drwxr-xr-x", "-rwx------". */
export function goFileMode(mode: number, isDir: boolean): string {
  const rwx = "rwxrwxrwx";
  let s = isDir ? "d" : "-";
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? rwx[i] : "-";
  return s;
}

/**
 * etcd's TouchDirAll: creates `dir` and its missing parents with mode 0700; an existing `dir`
 * whose permission is not 0700 is warned about (etcd's text) and changed to 0700. Throws when the
 * directory is not writable (etcd: "cannot access data directory").
 */
export function touchPrivateDirAll(dir: string, logger?: ModeLogger): void {
  let mode: number | undefined;
  try {
    mode = statSync(dir).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (mode === undefined) {
    // mkdir applies the mode to every directory it creates; the umask can only narrow it.
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  } else if (mode !== PRIVATE_DIR_MODE) {
    logger?.warn(
      `check file permission: directory "${dir}" exist, but the permission is "${goFileMode(mode, true)}". The recommended permission is "${goFileMode(PRIVATE_DIR_MODE, false)}" to prevent possible unprivileged access to the data.`,
      { path: dir, mode: goFileMode(mode, true), fixedTo: goFileMode(PRIVATE_DIR_MODE, true) },
    );
    try {
      chmodSync(dir, PRIVATE_DIR_MODE);
    } catch (err) {
      // Not the owner (a volume mounted by someone else): etcd only warns, and so do we then.
      logger?.warn(`cannot change the permission of directory "${dir}": ${(err as Error).message}`, { path: dir });
    }
  }
  accessSync(dir, constants.W_OK);
}

/** Narrows an existing file to 0600 when group or others have any access (a file of an older version). */
export function ensurePrivateFile(path: string, logger?: ModeLogger): void {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if ((mode & 0o077) === 0) return;
  logger?.warn(`check file permission: file "${path}" has permission "${goFileMode(mode, false)}"; changing it to "${goFileMode(PRIVATE_FILE_MODE, false)}"`, {
    path,
    mode: goFileMode(mode, false),
  });
  chmodSync(path, PRIVATE_FILE_MODE);
}
