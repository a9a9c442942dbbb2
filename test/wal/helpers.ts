import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntryType, type Entry } from "../../server/raft/types.js";
import { frameSize, getU64, REC_ENTRY, REC_HARDSTATE, scanSegment, type ChainState } from "../../server/wal/record.js";
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

export interface FrameInfo {
  readonly offset: number;
  readonly end: number;
  readonly type: number;
  /** Entry index, or the commit of a hard state. */
  readonly value: number;
}

/** The frames of one segment file (which must be undamaged). */
export async function frames(file: string): Promise<FrameInfo[]> {
  const out: FrameInfo[] = [{ offset: 0, end: frameSize(4), type: 4, value: 0 }];
  const chain: ChainState = { crc: 0, chained: false };
  scanSegment(await readFile(file), file, false, chain, (type, b, body, bodyLen, offset) => {
    const value = type === REC_ENTRY ? getU64(b, body + 8) : type === REC_HARDSTATE ? getU64(b, body + 16) : 0;
    out.push({ offset, end: offset + frameSize(bodyLen), type, value });
  });
  return out;
}
