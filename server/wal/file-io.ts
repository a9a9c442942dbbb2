/**
 * The WAL's file system calls: full positional writes, fdatasync and directory fsync (through the
 * walWrite / walSync failpoints of server/util/failpoint.ts), private modes, and the torn-tail repair.
 */
import { writeSync } from "node:fs";
import { chmod, open, stat, type FileHandle } from "node:fs/promises";
import { hitFailpoint } from "../util/failpoint.js";
import { PRIVATE_FILE_MODE } from "../util/file-modes.js";
import type { TornTail } from "./record.js";
import type { WalLogger } from "./logger.js";
export { fsyncDir } from "../util/fsync.js";
import { fsyncDir } from "../util/fsync.js";

export function writeFullySync(fd: number, buf: Buffer, len: number, position: number): void {
  hitFailpoint("walWrite");
  let done = 0;
  while (done < len) {
    const n = writeSync(fd, buf, done, len - done, position + done);
    if (n <= 0) throw new Error(`short write (${done}/${len} bytes)`);
    done += n;
  }
}

export async function writeFully(h: FileHandle, buf: Buffer, len: number, position: number): Promise<void> {
  hitFailpoint("walWrite");
  let done = 0;
  while (done < len) {
    const { bytesWritten } = await h.write(buf, done, len - done, position + done);
    if (bytesWritten <= 0) throw new Error(`short write (${done}/${len} bytes)`);
    done += bytesWritten;
  }
}

export async function datasync(h: FileHandle): Promise<void> {
  hitFailpoint("walSync");
  await h.datasync();
}

/** Narrows a segment written by an older version (0644) to 0600. */
export async function ensurePrivate(file: string, logger?: WalLogger): Promise<void> {
  const mode = (await stat(file)).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  logger?.warn(`wal: ${file} had permission ${mode.toString(8).padStart(4, "0")}; changing it to 0600`, { path: file });
  await chmod(file, PRIVATE_FILE_MODE);
}

/**
 * Cuts the torn tail off the last segment (fsynced), first keeping the whole original as
 * `<segment>.<ms>.broken` (0600) when the bytes cut hold anything but zeros.
 */
export async function repairTornTail(file: string, buf: Buffer, torn: TornTail, logger?: WalLogger): Promise<void> {
  const fields = { path: file, offset: torn.offset, discardedBytes: buf.length - torn.offset, reason: torn.reason };
  if (torn.nonZero) {
    const backup = `${file}.${Date.now()}.broken`;
    const b = await open(backup, "wx", PRIVATE_FILE_MODE);
    try {
      await b.writeFile(buf);
      await b.sync();
    } finally {
      await b.close();
    }
    logger?.warn(`wal: repaired torn tail of ${file} at offset ${torn.offset} (${torn.reason}; ${fields.discardedBytes} bytes cut, original kept as ${backup})`, { ...fields, backup });
  } else {
    logger?.warn(`wal: repaired torn tail of ${file} at offset ${torn.offset} (${torn.reason}; ${fields.discardedBytes} zero bytes cut)`, fields);
  }
  const h = await open(file, "r+");
  try {
    await h.truncate(torn.offset);
    await h.sync();
  } finally {
    await h.close();
  }
}
