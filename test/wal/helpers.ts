import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntryType, type Entry } from "../../server/raft/types.js";
import type { WalLogger } from "../../server/wal/wal.js";

export async function tempDir(prefix: string): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export interface CapturedLog extends WalLogger {
  readonly warns: { msg: string; fields?: Record<string, unknown> }[];
  readonly infos: { msg: string; fields?: Record<string, unknown> }[];
}

export function captureLog(): CapturedLog {
  const warns: CapturedLog["warns"] = [];
  const infos: CapturedLog["infos"] = [];
  return {
    warns,
    infos,
    warn: (msg, fields) => void warns.push({ msg, fields }),
    info: (msg, fields) => void infos.push({ msg, fields }),
  };
}

/** A deterministic entry: data derived from index and term. */
export function ent(index: number, term = 1, size = 32, type: EntryType = EntryType.Normal): Entry {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index, term, type, data };
}

export function ents(from: number, to: number, term = 1, size = 32): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term, size));
  return out;
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
}

export { frames, type FrameInfo } from "../support/wal-frames.js";
