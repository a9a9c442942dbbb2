/**
 * Read-only looks at a WAL directory, without opening (locking) the WAL: whether it holds a WAL, and
 * which snapshot markers a start-up may trust.
 */
import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { WalLogger } from "./logger.js";
import { MarkerReader, type WalSnapshot } from "./reader.js";
import { WalError } from "./record.js";
import { checkSequence, listSegments, parseSegmentName } from "./segments.js";

/** True when `dir` holds at least one WAL segment. */
export function walExists(dir: string): boolean {
  try {
    return readdirSync(dir).some((n) => parseSegmentName(n) !== undefined);
  } catch {
    return false;
  }
}

/**
 * The snapshot markers of the WAL whose index is at most the last committed index, oldest first
 * (etcd's ValidSnapshotEntries): a snapshot file is only usable at startup if its {index, term} is
 * among them. A torn tail is tolerated (not repaired).
 */
export async function validSnapshotEntries(dir: string, logger?: WalLogger): Promise<WalSnapshot[]> {
  const segs = await listSegments(dir, logger);
  if (segs.length === 0) throw new WalError(`wal: no WAL segment in ${dir}`, "ENOTFOUND");
  checkSequence(dir, segs);
  const reader = new MarkerReader();
  for (let i = 0; i < segs.length; i++) {
    const file = join(dir, segs[i]!.name);
    reader.segment(file, await readFile(file), i === segs.length - 1);
  }
  return reader.valid();
}
