/**
 * An advisory pid lock file (`wal.lock`) keeping two live processes (or two Wal objects in one
 * process) from appending to the same WAL. Node has no flock(2); instead the file is created with
 * O_EXCL and holds the owner's pid. A lock whose pid is not a running process (kill -9, power loss)
 * (or a zombie: killed, not yet reaped by its parent) is stale and taken over. Limits: pid reuse by an unrelated process makes a stale lock look held
 * (remove the file by hand), and processes in different pid namespaces do not see each other.
 */
import { readFileSync } from "node:fs";
import { open, readFile, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { WalError } from "./record.js";

export const LOCK_FILE = "wal.lock";

const heldInProcess = new Set<string>();

export interface LockLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** A killed process its parent has not reaped yet (state Z or X in /proc) holds no files: not a holder. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return false; // no /proc (or the process just went): kill(0) below decides
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

export class DirLock {
  private released = false;
  private constructor(
    private readonly key: string,
    private readonly path: string,
  ) {}

  static async acquire(dir: string, logger?: LockLogger): Promise<DirLock> {
    const key = resolve(dir);
    if (heldInProcess.has(key)) throw new WalError(`wal: ${dir} is already open in this process`, "ELOCKED");
    const path = join(dir, LOCK_FILE);
    heldInProcess.add(key);
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const h = await open(path, "wx", 0o600);
          try {
            await h.writeFile(`${process.pid}\n`);
          } finally {
            await h.close();
          }
          return new DirLock(key, path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        }
        let text = "";
        try {
          text = await readFile(path, "utf8");
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
          throw err;
        }
        const pid = Number.parseInt(text.trim(), 10);
        // Our own pid in a lock this process does not hold: a previous incarnation (e.g. pid 1 in a restarted container).
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
          throw new WalError(`wal: ${dir} is locked by running process ${pid} (${path})`, "ELOCKED");
        }
        logger?.warn(`wal: removing stale lock file ${path} (pid ${text.trim() || "none"} is not running)`, { path, pid: Number.isNaN(pid) ? text : pid });
        try {
          await unlink(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        }
      }
      throw new WalError(`wal: could not take the lock ${path}`, "ELOCKED");
    } catch (err) {
      heldInProcess.delete(key);
      throw err;
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    heldInProcess.delete(this.key);
    try {
      const text = await readFile(this.path, "utf8");
      if (Number.parseInt(text.trim(), 10) === process.pid) await unlink(this.path);
    } catch {
      // already gone
    }
  }
}
