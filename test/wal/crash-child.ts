/**
 * Child process of crash.test.ts: appends entries to the WAL in `argv[2]` (creating it if
 * needed) and prints each batch's last index once save(..., mustSync) has resolved, until killed.
 */
import { Wal } from "../../server/wal/wal.js";
import { crashEntry } from "./crash-entry.js";

const dir = process.argv[2]!;
const segmentSizeBytes = Number(process.argv[3] ?? 16384);
const opts = { segmentSizeBytes };

let wal: Wal;
let next: number;
if (Wal.exists(dir)) {
  const r = await Wal.open(dir, { index: 0, term: 0 }, undefined, opts);
  wal = r.wal;
  next = r.wal.lastIndex + 1;
} else {
  wal = await Wal.create(dir, { memberId: 1n, clusterId: 2n }, undefined, opts);
  next = 1;
}
process.stdout.write(`ready ${next}\n`);
for (;;) {
  const n = 1 + ((next * 7) % 23);
  const batch = [];
  for (let i = 0; i < n; i++) batch.push(crashEntry(next + i));
  next += n;
  await wal.save({ term: 1, vote: 1n, commit: next - 1 }, batch, true);
  // Synchronous on pipes: the parent sees the index only after the save resolved.
  process.stdout.write(`${next - 1}\n`);
}
