/**
 * Backend databases received with a snapshot (etcd's snap/db.go): streamed to a temporary file in
 * the snap directory, fsynced, renamed to `%016x.snap.db` (the snapshot's index) and the directory
 * fsynced. The file stays at that known path until the backend swaps it in (a rename), so a member
 * that crashes anywhere in between finds it at start-up.
 */
import { open, readdir, rename, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { failpoint } from "../util/failpoint.js";
export { fsyncDir } from "../util/fsync.js";
import { fsyncDir } from "../util/fsync.js";

export const SNAP_DB_SUFFIX = ".snap.db";
const PART_SUFFIX = ".part";
const SNAP_DB_RE = /^([0-9a-f]{16})\.snap\.db$/;
const PART_RE = /^[0-9a-f]{16}\.snap\.db\.[0-9]+\.[0-9]+\.part$/;
let partSeq = 0;

export function snapDbName(index: number): string {
  return `${index.toString(16).padStart(16, "0")}${SNAP_DB_SUFFIX}`;
}

/** Where the database received for the snapshot at `index` lives until it is swapped in. */
export function snapDbPath(dir: string, index: number): string {
  return join(dir, snapDbName(index));
}

/** One database being received: write chunks in order, then commit (or abort). */
export class SnapDbReceiver {
  private bytes = 0;
  private done = false;

  private constructor(
    private readonly dir: string,
    private readonly index: number,
    private readonly tmp: string,
    private readonly h: FileHandle,
  ) {}

  static async open(dir: string, index: number): Promise<SnapDbReceiver> {
    const tmp = join(dir, `${snapDbName(index)}.${process.pid}.${partSeq++}${PART_SUFFIX}`);
    return new SnapDbReceiver(dir, index, tmp, await open(tmp, "wx", 0o600));
  }

  get received(): number {
    return this.bytes;
  }

  async write(chunk: Uint8Array): Promise<void> {
    let off = 0;
    while (off < chunk.length) off += (await this.h.write(chunk, off, chunk.length - off, this.bytes + off)).bytesWritten;
    this.bytes += chunk.length;
  }

  /**
   * fsync, rename to the known path, fsync the directory; returns that path. `stillWanted` is asked once the data is
   * durable, before the rename: false removes the file instead (the reception was cancelled meanwhile) and returns
   * undefined.
   */
  async commit(stillWanted: () => boolean = () => true): Promise<string | undefined> {
    this.done = true;
    try {
      await this.h.sync();
    } finally {
      await this.h.close();
    }
    if (!stillWanted()) {
      await unlink(this.tmp).catch(() => undefined);
      return undefined;
    }
    failpoint("snapDbBeforeRename");
    const path = snapDbPath(this.dir, this.index);
    await rename(this.tmp, path);
    await fsyncDir(this.dir);
    return path;
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.h.close().catch(() => undefined);
    await unlink(this.tmp).catch(() => undefined);
  }
}

/** Indexes of the received databases in `dir`, ascending. */
export async function listSnapDbs(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const m = SNAP_DB_RE.exec(n);
    if (m) out.push(parseInt(m[1]!, 16));
  }
  return out.sort((a, b) => a - b);
}

/**
 * Removes received databases the backend no longer needs (index <= `upTo`: it holds that state or a
 * newer one) and, at start-up (`partials`), temporary files of receptions a crash interrupted.
 */
export async function releaseSnapDbs(dir: string, upTo: number, partials = false): Promise<string[]> {
  const removed: string[] = [];
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const m = SNAP_DB_RE.exec(n);
    const stale = m ? parseInt(m[1]!, 16) <= upTo : partials && PART_RE.test(n);
    if (!stale) continue;
    await unlink(join(dir, n)).catch(() => undefined);
    removed.push(n);
  }
  return removed;
}
