/**
 * The WAL damage matrix: zeroed, truncated and bit-flipped regions at the head, middle and tail of
 * the first, a middle and the last segment. Each case states its outcome: either open() repairs a
 * torn tail (the log ends just before the damaged frame, the file is cut there) or it refuses,
 * changing nothing, with a WalError naming the file and the offset of the damaged frame.
 * The rule (server/wal/README.md, "Repair rule"): only damage in the last segment with no valid
 * record after it is a torn tail.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, readFile, readdir, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Entry, HardState } from "../../server/raft/types.js";
import { FLAG_DURABLE_BEFORE, FLAG_MARKS_DURABLE, REC_ENTRY, REC_HARDSTATE, REC_SNAPSHOT, frameSize, sealFrame } from "../../server/wal/record.js";
import { Wal, WalError } from "../../server/wal/index.js";
import { captureLog, ent, ents, frames, segmentFiles, tempDir, type FrameInfo } from "./helpers.js";

const META = { memberId: 0x1111n, clusterId: 0x2222n };
const SMALL = { segmentSizeBytes: 2048 };

type Kind = "zeroed" | "truncated" | "flipped";
type Where = "head" | "middle" | "tail";
type Seg = "first" | "middle" | "last";

interface Expect {
  /** "repaired": the log ends before the damaged frame; otherwise the WalError code open() throws. */
  readonly outcome: "repaired" | "ETRUNC" | "ECRC" | "ENOTTAIL";
  /** The offset the error (or the repair) names: the damaged frame's, or 0 for a segment's head. */
  readonly at: "frame" | 0;
}

const refusedInEarlierSegment: Record<Kind, Expect> = {
  zeroed: { outcome: "ETRUNC", at: "frame" },
  truncated: { outcome: "ETRUNC", at: "frame" },
  flipped: { outcome: "ECRC", at: "frame" },
};

/** The expected outcome of every cell of the matrix. */
const MATRIX: Record<Seg, Record<Where, Record<Kind, Expect>>> = {
  first: { head: refusedInEarlierSegment, middle: refusedInEarlierSegment, tail: refusedInEarlierSegment },
  middle: { head: refusedInEarlierSegment, middle: refusedInEarlierSegment, tail: refusedInEarlierSegment },
  last: {
    // A last segment without its crc record is never a torn write: segments are renamed into place complete.
    head: { zeroed: { outcome: "ETRUNC", at: 0 }, truncated: { outcome: "ETRUNC", at: 0 }, flipped: { outcome: "ECRC", at: 0 } },
    // Valid records after a hole mean the hole is not a torn write: refuse (issue: 1.6 MB were dropped).
    middle: {
      zeroed: { outcome: "ENOTTAIL", at: "frame" },
      // A cut file has nothing after the cut: indistinguishable from a write cut short, so repaired.
      truncated: { outcome: "repaired", at: "frame" },
      flipped: { outcome: "ECRC", at: "frame" },
    },
    tail: {
      zeroed: { outcome: "repaired", at: "frame" },
      truncated: { outcome: "repaired", at: "frame" },
      flipped: { outcome: "ECRC", at: "frame" },
    },
  },
};

function hs(term: number, commit: number): HardState {
  return { term, vote: 1n, commit };
}

/** The frame a position names: the segment's crc record, one halfway through, or the last one. */
function victim(fr: readonly FrameInfo[], where: Where): FrameInfo {
  if (where === "head") return fr[0]!;
  if (where === "tail") return fr[fr.length - 1]!;
  return fr[Math.floor(fr.length / 2)]!;
}

/** Damages `buf` at frame `f`; returns the new file contents. */
function damage(buf: Buffer, f: FrameInfo, kind: Kind): Buffer {
  const out = Buffer.from(buf);
  switch (kind) {
    case "zeroed":
      return out.fill(0, f.offset, f.end);
    case "truncated":
      // Inside the frame: into the header for the head, halfway through the frame elsewhere.
      return out.subarray(0, f.offset === 0 ? 8 : f.offset + Math.floor((f.end - f.offset) / 2));
    case "flipped":
      // In the body (padding is covered by no checksum and holds nothing).
      out[f.offset + 16]! ^= 0x08;
      return out;
  }
}

/** Every entry of the base WAL with where its frame lives: the expected log of a repair is a prefix. */
async function entryLocations(dir: string, names: readonly string[]): Promise<{ seg: number; offset: number; index: number }[]> {
  const out: { seg: number; offset: number; index: number }[] = [];
  for (let s = 0; s < names.length; s++) {
    for (const f of await frames(join(dir, names[s]!))) if (f.type === REC_ENTRY) out.push({ seg: s, offset: f.offset, index: f.value });
  }
  return out;
}

async function expectRefused(dir: string, file: string, before: Buffer, code: string, offset: number, label: string): Promise<void> {
  let err: unknown;
  try {
    const r = await Wal.open(dir, { index: 0, term: 0 }, undefined, SMALL);
    await r.wal.close();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof WalError, `${label}: expected a refusal, got ${String(err)}`);
  assert.equal(err.code, code, `${label}: ${err.message}`);
  assert.equal(err.file, file, label);
  assert.equal(err.offset, offset, `${label}: ${err.message}`);
  assert.ok(err.message.includes(`${file} at offset ${offset}`), `${label}: ${err.message}`);
  assert.deepEqual(await readFile(file), before, `${label}: a refused open changes nothing`);
}

test("damage matrix: zeroed / truncated / flipped x head / middle / tail x first / middle / last segment", async (t) => {
  const { root, cleanup } = await tempDir("wal-matrix-");
  t.after(cleanup);
  const base = join(root, "base");
  const wal = await Wal.create(base, META, undefined, SMALL);
  const written: Entry[] = [];
  for (let i = 1; i <= 92; i += 4) {
    const b = ents(i, i + 3, 1, 40);
    written.push(...b);
    await wal.save(hs(1, i + 3), b, true);
  }
  await wal.close();
  const names = await segmentFiles(base);
  assert.ok(names.length >= 3, `need three segments, got ${names.join(",")}`);
  assert.ok((await frames(join(base, names.at(-1)!))).length >= 7, "the last segment holds several records");
  const where = await entryLocations(base, names);
  const segIndex: Record<Seg, number> = { first: 0, middle: 1, last: names.length - 1 };

  let n = 0;
  for (const seg of ["first", "middle", "last"] as const) {
    for (const pos of ["head", "middle", "tail"] as const) {
      for (const kind of ["zeroed", "truncated", "flipped"] as const) {
        const label = `${kind} ${pos} of the ${seg} segment`;
        const expect = MATRIX[seg][pos][kind];
        const dir = join(root, `case${n++}`);
        await cp(base, dir, { recursive: true });
        const s = segIndex[seg];
        const file = join(dir, names[s]!);
        const f = victim(await frames(file), pos);
        const damaged = damage(await readFile(file), f, kind);
        await writeFile(file, damaged);
        const offset = expect.at === 0 ? 0 : f.offset;

        if (expect.outcome !== "repaired") {
          await expectRefused(dir, file, damaged, expect.outcome, offset, label);
          continue;
        }
        const log = captureLog();
        const r = await Wal.open(dir, { index: 0, term: 0 }, log, SMALL);
        const kept = where.filter((w) => w.seg < s || w.offset < f.offset).length;
        assert.deepEqual(r.entries, written.slice(0, kept), label);
        assert.equal((await stat(file)).size, f.offset, `${label}: cut at the damaged frame`);
        assert.equal(log.warns.length, 1, label);
        assert.ok(log.warns[0]!.msg.includes(`${file} at offset ${f.offset}`), log.warns[0]!.msg);
        // The log goes on after the repair.
        await r.wal.save(hs(2, kept + 1), [ent(kept + 1, 2)], true);
        await r.wal.close();
        const again = await Wal.open(dir, { index: 0, term: 0 }, undefined, SMALL);
        assert.deepEqual(again.entries, [...written.slice(0, kept), ent(kept + 1, 2)], label);
        await again.wal.close();
      }
    }
  }
  assert.equal(n, 27);
});

test("issue 4: a zeroed header in the middle of the last segment, 1.6 MB of records after it, is refused", async (t) => {
  const { root, cleanup } = await tempDir("wal-hole-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META);
  for (let i = 1; i <= 1000; i += 10) await wal.save(hs(1, i + 9), ents(i, i + 9, 1, 3000), true);
  await wal.close();
  const file = join(dir, (await segmentFiles(dir))[0]!);
  const fr = await frames(file);
  const original = await readFile(file);
  const f = fr.find((x) => x.type === REC_ENTRY && x.offset >= original.length - 1_600_000)!;
  const buf = Buffer.from(original);
  buf.fill(0, f.offset, f.offset + 16);
  await writeFile(file, buf);
  await expectRefused(dir, file, buf, "ENOTTAIL", f.offset, "zeroed header");
  await assert.rejects(Wal.validSnapshotEntries(dir), (e: WalError) => e.code === "ENOTTAIL");

  // A whole zero sector inside an entry's body (etcd's torn-entry signature) with records after it.
  const sector = Math.ceil((f.offset + 16) / 512) * 512;
  assert.ok(sector + 512 <= f.end, "a whole sector inside the body");
  const holed = Buffer.from(original).fill(0, sector, sector + 512);
  await writeFile(file, holed);
  await expectRefused(dir, file, holed, "ENOTTAIL", f.offset, "zero sector");
});

test("a hole followed only by zeros or by bytes that hold no valid record is a torn tail", async (t) => {
  const { root, cleanup } = await tempDir("wal-torn2-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META);
  for (let i = 1; i <= 40; i += 4) await wal.save(hs(1, i + 3), ents(i, i + 3, 1, 700), true);
  await wal.close();
  const file = join(dir, (await segmentFiles(dir))[0]!);
  const fr = await frames(file);
  const f = fr[fr.length - 6]!;
  const buf = await readFile(file);
  // A hole, then garbage that is no record (stale bytes of a torn write), to the end of the file.
  buf.fill(0, f.offset, f.offset + 16);
  for (let i = f.offset + 16; i < buf.length; i++) buf[i] = (i * 7 + 3) & 0xff;
  await writeFile(file, buf);
  const log = captureLog();
  const r = await Wal.open(dir, { index: 0, term: 0 }, log);
  assert.equal((await stat(file)).size, f.offset);
  assert.equal(r.entries.length, fr.filter((x) => x.type === REC_ENTRY && x.offset < f.offset).length);
  await r.wal.close();
  const broken = (await readdir(dir)).filter((x) => x.endsWith(".broken"));
  assert.equal(broken.length, 1, "the cut bytes are kept");
  assert.equal(((await stat(join(dir, broken[0]!))).mode & 0o777).toString(8), "600", "the copy is private");
  assert.equal(((await stat(file)).mode & 0o777).toString(8), "600");
  assert.equal(((await stat(dir)).mode & 0o777).toString(8), "700");
});

test("FLAG_DURABLE_BEFORE: set on the first frame of a write that follows a sync, and only there", async (t) => {
  const { root, cleanup } = await tempDir("wal-flags-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META);
  await wal.save(hs(1, 3), ents(1, 3), true); // after create: synced before
  // A hard state alone, unsynced (a new term: one that moves only the commit index is held for the next
  // write, never written alone): flagged, but leaves unsynced bytes.
  await wal.save(hs(2, 3), [], false);
  await wal.save(hs(2, 6), ents(4, 6), true); // follows an unsynced write: not flagged
  await wal.saveSnapshot({ index: 5, term: 1 }); // follows a sync: flagged
  await wal.close();
  const file = join(dir, (await segmentFiles(dir))[0]!);
  const buf = await readFile(file);
  const fr = await frames(file);
  const flagOf = (f: FrameInfo) => buf[f.offset + 13]!;
  assert.equal(flagOf(fr[0]!), FLAG_MARKS_DURABLE, "the crc record marks the segment");
  const flagged = fr.slice(1).filter((f) => (flagOf(f) & FLAG_DURABLE_BEFORE) !== 0).map((f) => [f.type, f.value]);
  assert.deepEqual(flagged, [
    [REC_ENTRY, 1],
    [REC_HARDSTATE, 3],
    [REC_SNAPSHOT, 0],
  ]);

  // Zero the unsynced hard state: nothing after it proves it was synced (entries 4..6 were being
  // written when it was still unsynced), so it is a torn tail, repaired down to entries 1..3.
  const hsOnly = fr.filter((f) => f.type === REC_HARDSTATE)[1]!;
  const torn = join(root, "torn");
  await cp(dir, torn, { recursive: true });
  const tornFile = join(torn, (await segmentFiles(dir))[0]!);
  await writeFile(tornFile, Buffer.from(buf).fill(0, hsOnly.offset, hsOnly.end));
  // ...except that the snapshot marker after it was written after a sync: refused.
  await assert.rejects(Wal.open(torn, { index: 0, term: 0 }), (e: WalError) => e.code === "ENOTTAIL" && e.offset === hsOnly.offset);
  const snapFrame = fr.find((f) => f.type === REC_SNAPSHOT && f.offset > hsOnly.offset)!;
  await truncate(tornFile, snapFrame.offset);
  const r = await Wal.open(torn, { index: 0, term: 0 });
  assert.deepEqual(r.entries, ents(1, 3));
  await r.wal.close();
});

test("a segment of an older version (no FLAG_MARKS_DURABLE): any valid record after damage refuses the repair", async (t) => {
  const { root, cleanup } = await tempDir("wal-old-");
  t.after(cleanup);
  for (const marked of [true, false]) {
    const dir = join(root, marked ? "new" : "old");
    const wal = await Wal.create(dir, META);
    await wal.save(hs(1, 1), ents(1, 1), true);
    await wal.save(hs(1, 2), [ent(2, 1, 3000)], true); // one write: a big entry, then its hard state
    await wal.close();
    const file = join(dir, (await segmentFiles(dir))[0]!);
    const buf = await readFile(file);
    if (!marked) {
      // Rewrite the segment as an older writer did: every flag clear, checksums resealed.
      rewriteWithoutFlags(buf);
    }
    const big = (await frames(file)).find((f) => f.type === REC_ENTRY && f.value === 2)!;
    const sector = Math.ceil((big.offset + 16) / 512) * 512;
    buf.fill(0, sector, sector + 512); // a sector of the last write never reached the disk
    await writeFile(file, buf);
    if (marked) {
      const r = await Wal.open(dir, { index: 0, term: 0 });
      assert.deepEqual(r.entries, ents(1, 1), "the rest of the same write proves nothing: repaired");
      await r.wal.close();
    } else {
      await assert.rejects(Wal.open(dir, { index: 0, term: 0 }), (e: WalError) => e.code === "ENOTTAIL" && e.offset === big.offset);
    }
  }
});

/** Clears every frame's flags and reseals both checksums along the chain (a segment of an older writer). */
function rewriteWithoutFlags(buf: Buffer): void {
  let off = 0;
  let seed = 0;
  while (off < buf.length) {
    const bodyLen = buf.readUInt32LE(off + 8);
    const type = buf[off + 12]!;
    if (type === 4) seed = buf.readUInt32LE(off + 16);
    seed = sealFrame(buf, off, type, bodyLen, seed, 0);
    off += frameSize(bodyLen);
  }
}
