import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { appendFile, cp, readFile, readdir, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { EntryType, type Entry, type HardState } from "../../server/raft/types.js";
import { crc32, crc32Js, CRC32_NATIVE } from "../../server/wal/crc32.js";
import { REC_ENTRY, REC_HARDSTATE } from "../../server/wal/record.js";
import { Wal, WalError, parseSegmentName, segmentName } from "../../server/wal/index.js";
import { captureLog, ent, ents, frames, segmentFiles, tempDir } from "./helpers.js";

const META = { memberId: 0x8e9e05c52164694dn, clusterId: 0xcdf818194e3a8c32n };
const SMALL = { segmentSizeBytes: 2048 };

function hs(term: number, commit: number, vote = 1n): HardState {
  return { term, vote, commit };
}

async function expectWalError(p: Promise<unknown>, code: string, re?: RegExp): Promise<WalError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WalError, `expected a WalError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (re) assert.match(err.message, re);
    return err;
  }
  assert.fail(`expected WalError ${code}`);
}

/** Writes entries 1..n in batches, a hard state per batch, with small segments. */
async function buildWal(dir: string, n: number, opts = SMALL, batch = 5, size = 32): Promise<Entry[]> {
  const wal = await Wal.create(dir, META, undefined, opts);
  const all: Entry[] = [];
  for (let i = 1; i <= n; i += batch) {
    const b = ents(i, Math.min(n, i + batch - 1), 1, size);
    all.push(...b);
    await wal.save(hs(1, b[b.length - 1]!.index), b, false);
  }
  await wal.close();
  return all;
}

test("crc32: the native zlib.crc32 and the table fallback agree, chaining works", () => {
  const data = randomBytes(4099);
  assert.equal(crc32Js(new Uint8Array(0)), 0);
  assert.equal(crc32Js(Buffer.from("123456789")), 0xcbf43926); // the CRC-32 check value
  assert.equal(crc32(data), crc32Js(data));
  assert.equal(crc32(data.subarray(1000), crc32(data.subarray(0, 1000))), crc32(data));
  assert.equal(crc32Js(data.subarray(1000), crc32Js(data.subarray(0, 1000))), crc32Js(data));
  assert.equal(typeof CRC32_NATIVE, "boolean");
});

test("segment names are %016x-%016x.wal and parse back", () => {
  assert.equal(segmentName(1, 0x1f), "0000000000000001-000000000000001f.wal");
  assert.deepEqual(parseSegmentName("0000000000000001-000000000000001f.wal"), { seq: 1, index: 31 });
  assert.equal(parseSegmentName("0000000000000001-000000000000001f.wal.tmp"), undefined);
  assert.equal(parseSegmentName("1-1.wal"), undefined);
});

test("round trip across several segments: metadata, last hard state, every entry", async (t) => {
  const { root, cleanup } = await tempDir("wal-rt-");
  t.after(cleanup);
  const dir = join(root, "member", "wal");
  assert.equal(Wal.exists(dir), false);
  const log = captureLog();
  const wal = await Wal.create(dir, META, log, SMALL);
  assert.equal(Wal.exists(dir), true);
  const written: Entry[] = [];
  let last: HardState = hs(0, 0, 0n);
  for (let i = 1; i <= 120; i += 4) {
    const batch = [ent(i, 2, 0), ent(i + 1, 2, 90), ent(i + 2, 2, 7, EntryType.ConfChange), ent(i + 3, 2, 300)];
    written.push(...batch);
    last = { term: 2, vote: 0xffffffffffffffffn, commit: i + 1 };
    await wal.save(last, batch, i % 3 === 0);
  }
  await wal.save(undefined, [], true); // no-op
  await wal.close();
  const names = await segmentFiles(dir);
  assert.ok(names.length >= 5, `expected several segments, got ${names.join(",")}`);
  assert.equal(names[0], "0000000000000000-0000000000000000.wal");
  assert.ok(log.infos.some((l) => l.msg.includes("created segment")));
  // Every segment except the last was cut at (or just past) the size limit.
  for (const n of names.slice(0, -1)) assert.ok((await stat(join(dir, n))).size >= SMALL.segmentSizeBytes);

  const r = await Wal.open(dir, { index: 0, term: 0 }, log, SMALL);
  assert.deepEqual(r.metadata, META);
  assert.deepEqual(r.hardState, last);
  assert.deepEqual(r.entries, written);
  assert.equal(r.wal.lastIndex, 120);
  // Appending after open continues the log and the crc chain.
  await r.wal.save(hs(3, 122), [ent(121, 3), ent(122, 3)], true);
  await r.wal.close();
  const r2 = await Wal.open(dir, { index: 0, term: 0 }, undefined, SMALL);
  assert.deepEqual(r2.entries, [...written, ent(121, 3), ent(122, 3)]);
  assert.deepEqual(r2.hardState, hs(3, 122));
  await r2.wal.close();
  assert.equal(log.warns.length, 0, JSON.stringify(log.warns));
});

test("open from a snapshot marker returns only later entries; the marker must exist with the same term", async (t) => {
  const { root, cleanup } = await tempDir("wal-snap-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META, undefined, SMALL);
  await wal.save(hs(1, 60), ents(1, 60, 1, 64), false);
  await wal.saveSnapshot({ index: 50, term: 1 });
  await wal.save(hs(1, 90), ents(61, 90, 1, 64), true);
  await wal.close();

  const r = await Wal.open(dir, { index: 50, term: 1 });
  assert.deepEqual(r.entries, ents(51, 90, 1, 64));
  assert.deepEqual(r.hardState, hs(1, 90));
  await r.wal.close();
  await expectWalError(Wal.open(dir, { index: 50, term: 2 }), "ESNAPSHOT", /snapshot mismatch/);
  await expectWalError(Wal.open(dir, { index: 40, term: 1 }), "ESNAPSHOT", /not found/);
  const snaps = await Wal.validSnapshotEntries(dir);
  assert.deepEqual(snaps, [{ index: 0, term: 0 }, { index: 50, term: 1 }]);
});

test("a snapshot beyond the log (installed from a leader) then new entries", async (t) => {
  const { root, cleanup } = await tempDir("wal-snap2-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META);
  await wal.save(hs(1, 3), ents(1, 5), true);
  await wal.saveSnapshot({ index: 1000, term: 4 });
  await wal.save(hs(4, 1000), [], true);
  await wal.save(hs(4, 1002), ents(1001, 1002, 4), true);
  await wal.close();
  const r = await Wal.open(dir, { index: 1000, term: 4 });
  assert.deepEqual(r.entries, ents(1001, 1002, 4));
  assert.equal(r.wal.lastIndex, 1002);
  await r.wal.close();
  // From {0,0}, entries 6..1000 are missing: a gap is an error, not silently skipped.
  await expectWalError(Wal.open(dir, { index: 0, term: 0 }), "EGAP");
});

test("an overwritten tail (same index, higher term) wins, also across a segment boundary", async (t) => {
  const { root, cleanup } = await tempDir("wal-ow-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META, undefined, SMALL);
  await wal.save(hs(1, 5), ents(1, 40, 1, 64), false); // fills more than one segment: cut after this save
  await wal.save(hs(2, 5), ents(30, 33, 2, 64), false); // replaces 30..40 of term 1
  await wal.save(hs(3, 5), ents(32, 34, 3, 64), true); // replaces 32, 33 of term 2
  await wal.close();
  assert.ok((await segmentFiles(dir)).length >= 2);
  const r = await Wal.open(dir, { index: 0, term: 0 }, undefined, SMALL);
  assert.deepEqual(r.entries, [...ents(1, 29, 1, 64), ...ents(30, 31, 2, 64), ...ents(32, 34, 3, 64)]);
  assert.deepEqual(r.hardState, hs(3, 5));
  assert.equal(r.wal.lastIndex, 34);
  await r.wal.close();
});

test("torn tail: cut mid-record at several points, open repairs, logs and truncates; save appends after", async (t) => {
  const { root, cleanup } = await tempDir("wal-torn-");
  t.after(cleanup);
  const base = join(root, "base");
  const written = await buildWal(base, 60, SMALL, 3, 40);
  const names = await segmentFiles(base);
  const lastName = names[names.length - 1]!;
  const fr = await frames(join(base, lastName));
  assert.ok(fr.length >= 6, "last segment should hold several records");
  // Entries in earlier segments survive any cut of the last one.
  const firstInLast = fr.find((f) => f.type === REC_ENTRY)!.value;
  const fullSize = fr[fr.length - 1]!.end;
  const cuts = new Set<number>();
  for (const f of fr.slice(3)) {
    cuts.add(f.offset + 1); // inside the header
    cuts.add(f.offset + 15);
    cuts.add(f.offset + 16); // header complete, body missing
    cuts.add(Math.floor((f.offset + f.end) / 2)); // mid body
    cuts.add(f.end - 1); // only padding missing
  }
  cuts.add(fr[3]!.end); // a clean record boundary: nothing to repair
  let i = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    const dir = join(root, `cut${i++}`);
    await cp(base, dir, { recursive: true });
    const file = join(dir, lastName);
    await truncate(file, cut);
    const keptEnd = Math.max(...fr.filter((f) => f.end <= cut).map((f) => f.end));
    const complete = fr.filter((f) => f.end <= cut);
    const lastEntry = [...complete].reverse().find((f) => f.type === REC_ENTRY)?.value ?? firstInLast - 1;
    const lastCommit = [...complete].reverse().find((f) => f.type === REC_HARDSTATE)!.value;

    const log = captureLog();
    const r = await Wal.open(dir, { index: 0, term: 0 }, log, SMALL);
    assert.deepEqual(r.entries, written.slice(0, lastEntry), `cut at ${cut}`);
    assert.equal(r.hardState.commit, lastCommit);
    assert.equal((await stat(file)).size, keptEnd, `cut at ${cut}: truncated to the last complete record`);
    if (keptEnd === cut) {
      assert.equal(log.warns.length, 0);
    } else {
      assert.equal(log.warns.length, 1, `cut at ${cut}`);
      assert.ok(log.warns[0]!.msg.includes(file) && log.warns[0]!.msg.includes(`offset ${keptEnd}`), log.warns[0]!.msg);
      assert.equal(log.warns[0]!.fields?.["offset"], keptEnd);
      assert.equal(log.warns[0]!.fields?.["path"], file);
    }
    // Appending after the repair continues the log.
    const more = ents(lastEntry + 1, lastEntry + 3, 2, 40);
    await r.wal.save(hs(2, lastEntry + 3), more, true);
    await r.wal.close();
    const r2 = await Wal.open(dir, { index: 0, term: 0 }, undefined, SMALL);
    assert.deepEqual(r2.entries, [...written.slice(0, lastEntry), ...more]);
    await r2.wal.close();
  }
  assert.ok(i >= 20, `${i} cut points`);
  assert.ok(fullSize > 0);
});

test("torn tail: trailing zeros are cut; a zero-filled sector inside the last record is a torn write", async (t) => {
  const { root, cleanup } = await tempDir("wal-zero-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META);
  await wal.save(hs(1, 2), ents(1, 2), true);
  await wal.save(hs(1, 3), [ent(3, 1, 3000)], true);
  await wal.close();
  const file = join(dir, (await segmentFiles(dir))[0]!);
  const size = (await stat(file)).size;

  // 1. Zeros after the last record (an extended file whose data never hit the disk).
  await appendFile(file, Buffer.alloc(8192));
  let log = captureLog();
  let r = await Wal.open(dir, { index: 0, term: 0 }, log);
  assert.equal(r.entries.length, 3);
  assert.equal((await stat(file)).size, size);
  assert.match(log.warns[0]!.msg, new RegExp(`${file}.*offset ${size}`));
  await r.wal.close();
  assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith(".broken")), [], "no backup for a zero tail");

  // 2. A whole sector inside the body of the last entry reads as zeros.
  const fr = await frames(file);
  const big = fr.find((f) => f.type === REC_ENTRY && f.value === 3)!;
  const buf = await readFile(file);
  const sector = Math.ceil((big.offset + 16) / 512) * 512;
  assert.ok(sector + 512 <= big.end);
  buf.fill(0, sector, sector + 512);
  await writeFile(file, buf);
  log = captureLog();
  r = await Wal.open(dir, { index: 0, term: 0 }, log);
  assert.deepEqual(r.entries, ents(1, 2));
  assert.equal((await stat(file)).size, big.offset);
  assert.match(log.warns[0]!.msg, /zero-filled sector/);
  await r.wal.close();
  assert.equal((await readdir(dir)).filter((n) => n.endsWith(".broken")).length, 1, "non-zero discarded bytes are kept");
});

test("corruption: a flipped byte in an earlier record throws naming the file and offset", async (t) => {
  const { root, cleanup } = await tempDir("wal-crc-");
  t.after(cleanup);
  const base = join(root, "base");
  await buildWal(base, 40, { segmentSizeBytes: 1 << 20 }, 2, 40);
  const names = await segmentFiles(base);
  assert.equal(names.length, 1);
  const lastName = names[0]!;
  const fr = await frames(join(base, lastName));
  assert.ok(fr.length > 20);
  const victim = fr[10]!; // an entry well before the tail
  assert.equal(victim.type, REC_ENTRY);

  const cases: { name: string; at: number; code: string; what: RegExp }[] = [
    { name: "body", at: victim.offset + 20, code: "ECRC", what: /crc mismatch/ },
    { name: "stored crc", at: victim.offset + 5, code: "EHEADER", what: /corrupt record header/ },
    // A length pointing past EOF would look like a torn tail without the header checksum.
    { name: "length", at: victim.offset + 11, code: "EHEADER", what: /corrupt record header/ },
    { name: "type", at: victim.offset + 12, code: "EHEADER", what: /corrupt record header/ },
  ];
  for (const c of cases) {
    const dir = join(root, c.name);
    await cp(base, dir, { recursive: true });
    const file = join(dir, lastName);
    const buf = await readFile(file);
    buf[c.at]! ^= 0x40;
    await writeFile(file, buf);
    const err = await expectWalError(Wal.open(dir, { index: 0, term: 0 }), c.code, c.what);
    assert.ok(err.message.includes(`${file} at offset ${victim.offset}`), err.message);
    assert.equal(err.file, file);
    assert.equal(err.offset, victim.offset);
    assert.equal((await stat(file)).size, buf.length, "nothing truncated");
  }

  // The same flip in the last record of the last segment is also corruption (no zero sector).
  {
    const dir = join(root, "lastrec");
    await cp(base, dir, { recursive: true });
    const file = join(dir, lastName);
    const buf = await readFile(file);
    const lastFrame = fr[fr.length - 1]!;
    buf[lastFrame.offset + 20]! ^= 1;
    await writeFile(file, buf);
    await expectWalError(Wal.open(dir, { index: 0, term: 0 }), "ECRC", new RegExp(`at offset ${lastFrame.offset}`));
  }
});

test("corruption: damage in a non-last segment always throws (flip, truncation, zeros, missing segment)", async (t) => {
  const { root, cleanup } = await tempDir("wal-mid-");
  t.after(cleanup);
  const base = join(root, "base");
  await buildWal(base, 80, SMALL, 4, 40);
  const names = await segmentFiles(base);
  assert.ok(names.length >= 4);
  const mid = names[1]!;
  const fr = await frames(join(base, mid));
  const target = fr[fr.length - 1]!;

  const flip = join(root, "flip");
  await cp(base, flip, { recursive: true });
  let buf = await readFile(join(flip, mid));
  buf[target.offset + 30]! ^= 0xff;
  await writeFile(join(flip, mid), buf);
  await expectWalError(Wal.open(flip, { index: 0, term: 0 }), "ECRC", new RegExp(`${join(flip, mid)} at offset ${target.offset}`));

  const cut = join(root, "cut");
  await cp(base, cut, { recursive: true });
  await truncate(join(cut, mid), target.offset + 20);
  await expectWalError(Wal.open(cut, { index: 0, term: 0 }), "ETRUNC", new RegExp(`not the last: ${join(cut, mid)} at offset ${target.offset}`));

  const zeros = join(root, "zeros");
  await cp(base, zeros, { recursive: true });
  buf = await readFile(join(zeros, mid));
  buf.fill(0, target.offset);
  await writeFile(join(zeros, mid), buf);
  await expectWalError(Wal.open(zeros, { index: 0, term: 0 }), "ETRUNC", /zero-filled region in a segment that is not the last/);

  const gap = join(root, "gap");
  await cp(base, gap, { recursive: true });
  await (await import("node:fs/promises")).unlink(join(gap, names[2]!));
  await expectWalError(Wal.open(gap, { index: 0, term: 0 }), "ESEQ");

  // A segment swapped for another one breaks the crc chain.
  const swap = join(root, "swap");
  await cp(base, swap, { recursive: true });
  const other = await readFile(join(base, names[1]!));
  await writeFile(join(swap, names[2]!), other);
  await expectWalError(Wal.open(swap, { index: 0, term: 0 }), "ECHAIN");
});

test("releaseTo deletes only segments wholly before the newest snapshot marker <= index, keeping maxWals", async (t) => {
  const { root, cleanup } = await tempDir("wal-rel-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META, undefined, { segmentSizeBytes: 1024, maxWals: 1 });
  for (let i = 1; i <= 100; i += 5) await wal.save(hs(1, i + 4), ents(i, i + 4, 1, 40), false);
  const before = await segmentFiles(dir);
  assert.ok(before.length >= 6, before.join(","));

  // No marker <= 70 except {0,0}, which lives in the first segment: nothing to delete.
  await wal.releaseTo(70);
  assert.deepEqual(await segmentFiles(dir), before);

  await wal.saveSnapshot({ index: 60, term: 1 });
  await wal.releaseTo(80); // newest marker <= 80 is 60
  const after = await segmentFiles(dir);
  const starts = before.map((n) => parseSegmentName(n)!.index);
  const k = starts.findLastIndex((s) => s <= 60);
  assert.deepEqual(after, before.slice(k), "segments before the one holding index 60 are gone");
  assert.ok(k > 0);
  assert.deepEqual(wal.segmentNames(), after);
  await wal.close();
  const r = await Wal.open(dir, { index: 60, term: 1 }, undefined, { segmentSizeBytes: 1024 });
  assert.deepEqual(r.entries, ents(61, 100, 1, 40));
  await r.wal.close();
  await expectWalError(Wal.open(dir, { index: 0, term: 0 }), "ENOTFOUND");
});

test("releaseTo honours maxWals (count of files kept) and 0 = unlimited", async (t) => {
  const { root, cleanup } = await tempDir("wal-max-");
  t.after(cleanup);
  for (const maxWals of [0, 3]) {
    const dir = join(root, `wal${maxWals}`);
    const wal = await Wal.create(dir, META, undefined, { segmentSizeBytes: 1024, maxWals });
    for (let i = 1; i <= 100; i += 5) await wal.save(hs(1, i + 4), ents(i, i + 4, 1, 40), false);
    await wal.saveSnapshot({ index: 100, term: 1 });
    const before = await segmentFiles(dir);
    assert.ok(before.length > 4);
    await wal.releaseTo(100);
    const after = await segmentFiles(dir);
    if (maxWals === 0) assert.deepEqual(after, before);
    else assert.deepEqual(after, before.slice(before.length - 3));
    await wal.close();
  }
});

test("create refuses an existing WAL; a second open is locked out; a stale lock is taken over", async (t) => {
  const { root, cleanup } = await tempDir("wal-lock-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META);
  await expectWalError(Wal.create(dir, META), "EEXIST");
  await expectWalError(Wal.open(dir, { index: 0, term: 0 }), "ELOCKED");
  await wal.close();
  await expectWalError(wal.save(hs(1, 1), [ent(1)], true), "ECLOSED");
  await wal.close(); // idempotent

  // A lock left by a process that is gone (kill -9) does not block.
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  await writeFile(join(dir, "wal.lock"), `${dead.stdout}\n`);
  const log = captureLog();
  const r = await Wal.open(dir, { index: 0, term: 0 }, log);
  assert.ok(log.warns.some((w) => w.msg.includes("stale lock")));
  assert.equal((await readFile(join(dir, "wal.lock"), "utf8")).trim(), String(process.pid));
  await r.wal.close();
  assert.ok(!(await readdir(dir)).includes("wal.lock"), "lock removed on close");

  // A killed process whose parent has not reaped it yet (a zombie, as a member just killed by its
  // supervisor) holds nothing: its lock is stale. perl's forked child exits at once and perl,
  // asleep, does not reap it.
  const parent = spawn("perl", ["-e", "$|=1; my $p = fork; exit 0 unless $p; print \"$p\\n\"; sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
  t.after(() => parent.kill("SIGKILL"));
  const zombie = Number((await once(parent.stdout!, "data"))[0].toString().trim());
  for (let i = 0; i < 100 && !(await readFile(`/proc/${zombie}/stat`, "utf8")).includes(") Z"); i++) await new Promise((r) => setTimeout(r, 20));
  await writeFile(join(dir, "wal.lock"), `${zombie}\n`);
  const z = await Wal.open(dir, { index: 0, term: 0 }, captureLog());
  await z.wal.close();
  parent.kill("SIGKILL");

  // A lock held by a live process blocks.
  await writeFile(join(dir, "wal.lock"), `${process.ppid}\n`);
  await expectWalError(Wal.open(dir, { index: 0, term: 0 }), "ELOCKED", /locked by running process/);
});

test("an interrupted segment cut (a leftover .wal.tmp) is removed on open", async (t) => {
  const { root, cleanup } = await tempDir("wal-tmp-");
  t.after(cleanup);
  const dir = join(root, "wal");
  await buildWal(dir, 10);
  await writeFile(join(dir, `${segmentName(1, 11)}.tmp`), Buffer.alloc(100, 7));
  const log = captureLog();
  const r = await Wal.open(dir, { index: 0, term: 0 }, log);
  assert.equal(r.entries.length, 10);
  assert.ok(log.warns.some((w) => w.msg.includes("unfinished segment")));
  assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith(".tmp")), []);
  await r.wal.close();
});

test("validSnapshotEntries lists markers at or below the last commit", async (t) => {
  const { root, cleanup } = await tempDir("wal-valid-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META, undefined, SMALL);
  await wal.save(hs(1, 10), ents(1, 20), false);
  await wal.saveSnapshot({ index: 10, term: 1 });
  await wal.saveSnapshot({ index: 15, term: 1 }); // not committed (commit is 10)
  await wal.close();
  assert.deepEqual(await Wal.validSnapshotEntries(dir), [{ index: 0, term: 0 }, { index: 10, term: 1 }]);
});

test("bad arguments do not poison the WAL", async (t) => {
  const { root, cleanup } = await tempDir("wal-arg-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META);
  await expectWalError(wal.save(hs(1, 1), [{ index: -1, term: 1, type: EntryType.Normal, data: new Uint8Array() }], true), "EARG");
  await wal.save(hs(1, 1), [ent(1)], true);
  await wal.close();
  const r = await Wal.open(dir, { index: 0, term: 0 });
  assert.deepEqual(r.entries, [ent(1)]);
  await r.wal.close();
});

test("a hard state that moves only the commit index, unsynced, is held for the next write (etcd's buffered encoder)", async (t) => {
  const { root, cleanup } = await tempDir("wal-held-");
  t.after(cleanup);
  const dir = join(root, "wal");
  const wal = await Wal.create(dir, META);
  await wal.save(hs(1, 0), ents(1, 3), true);
  const file = join(dir, (await segmentFiles(dir))[0]!);
  const size = (await stat(file)).size;
  await wal.save(hs(1, 2), [], false);
  await wal.save(hs(1, 3), [], false);
  assert.equal((await stat(file)).size, size, "no write of its own");
  await wal.save(undefined, ents(4, 5), true);
  const kinds = (await frames(file)).map((f) => [f.type, f.value]);
  assert.deepEqual(kinds.slice(-3), [[REC_ENTRY, 4], [REC_ENTRY, 5], [REC_HARDSTATE, 3]], "the newest held one, after the entries");

  await wal.save(hs(1, 4), [], false);
  await wal.save(hs(1, 5), ents(6, 6), true); // a newer hard state replaces the held one
  await wal.save(hs(2, 5), [], false); // a new term is written at once, synced or not
  assert.deepEqual((await frames(file)).slice(-3).map((f) => [f.type, f.value]), [[REC_ENTRY, 6], [REC_HARDSTATE, 5], [REC_HARDSTATE, 5]]);
  await wal.save({ term: 2, vote: 1n, commit: 6 }, [], false);
  await wal.saveSnapshot({ index: 6, term: 1 }); // the held commit goes first: the marker is then valid
  await wal.save({ term: 2, vote: 1n, commit: 6 }, [], false);
  await wal.save({ term: 2, vote: 1n, commit: 6 }, [], false);
  await wal.close(); // writes what is held
  assert.deepEqual(await Wal.validSnapshotEntries(dir), [{ index: 0, term: 0 }, { index: 6, term: 1 }]);
  const r = await Wal.open(dir, { index: 0, term: 0 });
  assert.deepEqual(r.hardState, { term: 2, vote: 1n, commit: 6 });
  assert.deepEqual(r.entries, ents(1, 6));
  await r.wal.close();

  // Held and never written (the process died): the WAL opens at the last commit index written.
  const dir2 = join(root, "wal2");
  const w2 = await Wal.create(dir2, META);
  await w2.save(hs(1, 1), ents(1, 2), true);
  await w2.save(hs(1, 2), [], false);
  await cp(dir2, join(root, "copy"), { recursive: true });
  await w2.close();
  const r2 = await Wal.open(join(root, "copy"), { index: 0, term: 0 });
  assert.deepEqual(r2.hardState, hs(1, 1));
  assert.deepEqual(r2.entries, ents(1, 2));
  await r2.wal.close();
});
