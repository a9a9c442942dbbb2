import { readFile } from "node:fs/promises";
import { frameSize, getU64, REC_CRC, REC_ENTRY, REC_HARDSTATE, scanSegment, type ChainState } from "../../server/wal/record.js";

export interface FrameInfo {
  readonly offset: number;
  readonly end: number;
  readonly type: number;
  /** Entry index, or the commit of a hard state. */
  readonly value: number;
}

/** The frames of one WAL segment file (which must be undamaged), its crc record first. */
export async function frames(file: string): Promise<FrameInfo[]> {
  const out: FrameInfo[] = [{ offset: 0, end: frameSize(4), type: REC_CRC, value: 0 }];
  const chain: ChainState = { crc: 0, chained: false };
  scanSegment(await readFile(file), file, false, chain, (type, b, body, bodyLen, offset) => {
    const value = type === REC_ENTRY ? getU64(b, body + 8) : type === REC_HARDSTATE ? getU64(b, body + 16) : 0;
    out.push({ offset, end: offset + frameSize(bodyLen), type, value });
  });
  return out;
}
