/**
 * save() throughput (not a test): `node --import tsx test/wal/bench-save.ts [seconds] [dir]`.
 * Each save() is what the driver does per Raft Ready: N entries of 256 bytes plus a hard state,
 * mustSync = true (one write + one fdatasync). Also a raw write+fdatasync baseline of the disk, and
 * 100 entries/save without sync (encoding + write(2) only, the CPU side).
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { EntryType, type Entry } from "../../server/raft/types.js";
import { Wal } from "../../server/wal/wal.js";

const seconds = Number(process.argv[2] ?? 3);
const base = process.argv[3] ?? tmpdir();
const ENTRY_BYTES = 256;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function rawBaseline(dir: string): Promise<string> {
  const h = await open(join(dir, "raw"), "w");
  const buf = Buffer.alloc(320, 1);
  let n = 0;
  let pos = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await h.write(buf, 0, buf.length, pos);
    pos += buf.length;
    await h.datasync();
    n++;
  }
  const el = (performance.now() - t0) / 1000;
  await h.close();
  return `raw write(320 B)+fdatasync: ${Math.round(n / el)} syncs/s`;
}

async function run(dir: string, perSave: number, mustSync = true): Promise<string> {
  const wal = await Wal.create(join(dir, `wal-${perSave}-${mustSync}`), { memberId: 1n, clusterId: 1n });
  const data = new Uint8Array(ENTRY_BYTES).fill(0x61);
  let index = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const batch: Entry[] = [];
    for (let i = 0; i < perSave; i++) batch.push({ term: 2, index: ++index, type: EntryType.Normal, data });
    const s = performance.now();
    await wal.save({ term: 2, vote: 1n, commit: index - perSave }, batch, mustSync);
    lat.push(performance.now() - s);
  }
  const el = (performance.now() - t0) / 1000;
  await wal.close();
  lat.sort((a, b) => a - b);
  return (
    `${String(perSave).padStart(3)} entries/save${mustSync ? "" : " (no sync)"}: ${Math.round(lat.length / el)} saves/s, ${Math.round(index / el)} entries/s, ` +
    `${((index * ENTRY_BYTES) / el / 1e6).toFixed(2)} MB/s payload, save p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms`
  );
}

const dir = await mkdtemp(join(base, "wal-bench-"));
try {
  console.log(await rawBaseline(dir));
  for (const n of [1, 100]) console.log(await run(dir, n));
  console.log(await run(dir, 100, false));
} finally {
  await rm(dir, { recursive: true, force: true });
}
