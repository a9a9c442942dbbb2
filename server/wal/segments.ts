/**
 * Segment files of a WAL directory: the `%016x-%016x.wal` names (sequence, first index), listing
 * them, and the check that their sequence numbers are consecutive.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { LOCK_FILE } from "./lock.js";
import { WalError } from "./record.js";
import type { WalLogger } from "./logger.js";

const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export interface Segment {
  readonly seq: number;
  /** The index the segment was named after: every entry of the live log below it is in an earlier segment. */
  readonly index: number;
  readonly name: string;
}

export function segmentName(seq: number, index: number): string {
  return `${seq.toString(16).padStart(16, "0")}-${index.toString(16).padStart(16, "0")}.wal`;
}

export function parseSegmentName(name: string): { seq: number; index: number } | undefined {
  const m = SEGMENT_RE.exec(name);
  if (!m) return undefined;
  const seq = Number.parseInt(m[1]!, 16);
  const index = Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(index)) return undefined;
  return { seq, index };
}

/** Lists the segments of `dir` sorted by sequence; `tmp` collects leftover `*.wal.tmp` names. */
export async function listSegments(dir: string, logger?: WalLogger, tmp?: string[]): Promise<Segment[]> {
  const segs: Segment[] = [];
  for (const name of await readdir(dir)) {
    const p = parseSegmentName(name);
    if (p) {
      segs.push({ ...p, name });
    } else if (name.endsWith(".wal.tmp")) {
      tmp?.push(name);
    } else if (name !== LOCK_FILE && !name.endsWith(".broken")) {
      logger?.warn(`wal: ignored file ${join(dir, name)} in WAL directory`, { path: join(dir, name) });
    }
  }
  segs.sort((a, b) => a.seq - b.seq);
  return segs;
}

export function checkSequence(dir: string, segs: readonly Segment[]): void {
  for (let i = 1; i < segs.length; i++) {
    const a = segs[i - 1]!;
    const b = segs[i]!;
    // Names need not grow by index: an overwritten tail can make a segment start below its predecessor.
    if (b.seq !== a.seq + 1) {
      throw new WalError(`wal: segments out of sequence in ${dir}: ${a.name} then ${b.name}`, "ESEQ", join(dir, b.name));
    }
  }
}
