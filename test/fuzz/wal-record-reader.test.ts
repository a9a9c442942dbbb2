/**
 * Fuzzing the WAL record reader (server/wal/reader.ts, record.ts) and Wal.open. For any bytes:
 * the log or a WalError, never another exception, never a hang. Generated logs round-trip, and
 * damaged ones never yield records that were not written nor lose a write proven durable.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { EntryType, type Entry, type HardState } from "../../server/raft/types.js";
import { LogReader } from "../../server/wal/reader.js";
import {
  ENTRY_FIXED_BODY,
  FLAG_DURABLE_BEFORE,
  HARDSTATE_BODY,
  METADATA_BODY,
  SNAPSHOT_BODY,
  WalError,
  frameSize,
  putCrc,
  putEntry,
  putHardState,
  putMetadata,
  putSnapshot,
  sealFrame,
} from "../../server/wal/record.js";
import { Wal } from "../../server/wal/wal.js";
import { fuzzParams } from "./settings.js";

/** Generous: a property stops after FUZZ_SECONDS; a hang is what this catches. */
const TIMEOUT_MS = Number(process.env.FUZZ_SECONDS ?? 20) * 4000 + 60000;
const META = { memberId: 0x8e9e05c52164694dn, clusterId: 0xcdf818194e3a8c32n };
const FILE = "/fuzz/0000000000000000-0000000000000000.wal";

/** One save(): its entries then an optional hard state, written in one write, synced or not. */
interface Group {
  readonly entries: number;
  readonly dataSize: number;
  readonly hs: boolean;
  readonly sync: boolean;
}

interface Encoded {
  readonly buf: Buffer;
  readonly entries: Entry[];
  readonly hardStates: HardState[];
  /** Per group: its byte range, its entries' indexes, and whether its first frame has DURABLE_BEFORE. */
  readonly groups: { start: number; end: number; first: number; last: number; flagged: boolean }[];
}

const groupArb: fc.Arbitrary<Group> = fc
  .record({ entries: fc.integer({ min: 0, max: 4 }), dataSize: fc.integer({ min: 0, max: 700 }), hs: fc.boolean(), sync: fc.boolean() })
  .map((g) => (g.entries === 0 && !g.hs ? { ...g, hs: true } : g));

function entryOf(index: number, size: number, seed: number): Entry {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 131 + seed * 7 + i) & 0xff;
  return { index, term: 1 + (seed % 3), type: index % 5 === 0 ? EntryType.ConfChange : EntryType.Normal, data };
}

/** Encodes one segment as Wal.create and save() write it, flags included. */
function encode(groups: readonly Group[], seed: number): Encoded {
  let size = frameSize(4) + frameSize(METADATA_BODY) + frameSize(SNAPSHOT_BODY);
  for (const g of groups) size += g.entries * frameSize(ENTRY_FIXED_BODY + g.dataSize) + (g.hs ? frameSize(HARDSTATE_BODY) : 0);
  const buf = Buffer.alloc(size);
  let off = 0;
  let crc = putCrc(buf, off, 0);
  off += frameSize(4);
  crc = putMetadata(buf, off, META.memberId, META.clusterId, crc);
  off += frameSize(METADATA_BODY);
  crc = putSnapshot(buf, off, 0, 0, crc);
  off += frameSize(SNAPSHOT_BODY);
  const entries: Entry[] = [];
  const hardStates: HardState[] = [];
  const out: Encoded["groups"] = [];
  let durable = true; // create() syncs
  for (const g of groups) {
    const start = off;
    let flags = durable ? FLAG_DURABLE_BEFORE : 0;
    const first = entries.length + 1;
    for (let i = 0; i < g.entries; i++) {
      const e = entryOf(entries.length + 1, g.dataSize, seed);
      crc = putEntry(buf, off, e, crc, flags);
      flags = 0;
      off += frameSize(ENTRY_FIXED_BODY + g.dataSize);
      entries.push(e);
    }
    if (g.hs) {
      const hs = { term: 1 + (seed % 3), vote: BigInt(seed), commit: entries.length };
      crc = putHardState(buf, off, hs, crc, flags);
      off += frameSize(HARDSTATE_BODY);
      hardStates.push(hs);
    }
    out.push({ start, end: off, first, last: entries.length, flagged: durable });
    durable = g.sync;
  }
  return { buf, entries, hardStates, groups: out };
}

/** Reads one buffer as the only (last) segment; a WalError is a valid outcome, anything else fails the property. */
function read(buf: Buffer): { entries: Entry[]; hardState: HardState; validEnd: number } | WalError {
  const r = new LogReader({ index: 0, term: 0 }, 0);
  try {
    r.segment(FILE, buf, true);
    const { entries, hardState } = r.finish("/fuzz");
    return { entries, hardState, validEnd: r.validEnd };
  } catch (err) {
    if (err instanceof WalError) return err;
    throw err;
  }
}

const u64Arb = fc.oneof(fc.constantFrom(0n, 1n, 2n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));

const damageArb = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("zero" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 2048 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("overwrite" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
);
type Damage = typeof damageArb extends fc.Arbitrary<infer D> ? D : never;

function applyDamage(buf: Buffer, d: Damage): Buffer {
  const at = buf.length === 0 ? 0 : d.at % buf.length;
  switch (d.kind) {
    case "flip": {
      const out = Buffer.from(buf);
      if (out.length > 0) out[at]! ^= 1 << d.bit;
      return out;
    }
    case "zero":
      return Buffer.from(buf).fill(0, at, Math.min(buf.length, at + d.len));
    case "truncate":
      return Buffer.from(buf.subarray(0, at));
    case "overwrite": {
      const out = Buffer.from(buf);
      out.set(d.bytes.subarray(0, Math.max(0, out.length - at)), at);
      return out;
    }
    case "insert":
      return Buffer.concat([buf.subarray(0, at), d.bytes, buf.subarray(at)]);
  }
}

/**
 * Runs async property bodies so the last one can be awaited: a property cut off by its time
 * limit leaves its run going, which must finish before the directory it writes in is removed.
 */
function lastRun<A extends unknown[]>(body: (...args: A) => Promise<void>): { run: (...args: A) => Promise<void>; settled: () => Promise<void> } {
  let last: Promise<void> = Promise.resolve();
  return {
    run: (...args: A) => (last = body(...args)),
    settled: () => last.catch(() => undefined),
  };
}

test("any bytes: records or a WalError, never another exception", { timeout: TIMEOUT_MS }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 4096 }), fc.boolean(), (bytes, last) => {
      const r = new LogReader({ index: 0, term: 0 }, 0);
      try {
        r.segment(FILE, Buffer.from(bytes), last);
        r.finish("/fuzz");
      } catch (err) {
        if (!(err instanceof WalError)) throw err;
      }
    }),
    fuzzParams(),
  );
});

test("any frames with valid checksums (arbitrary types, lengths, flags and bodies): records or a WalError", { timeout: TIMEOUT_MS }, () => {
  // Random bodies behind correct headers reach the decoding of each record type (u64 > 2^53, bad lengths, unknown types).
  const frameArb = fc.record({
    type: fc.integer({ min: 0, max: 7 }),
    flags: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
    // Leading u64 fields (term, index, vote, commit...) often at the edges of what a Number holds.
    body: fc.tuple(fc.array(u64Arb, { maxLength: 3 }), fc.uint8Array({ maxLength: 48 })).map(([nums, rest]) => {
      const b = Buffer.alloc(nums.length * 8);
      nums.forEach((n, i) => b.writeBigUInt64LE(n, i * 8));
      return new Uint8Array(Buffer.concat([b, rest]));
    }),
    // Often a valid entry type byte, so entry bodies get past it to their u64 fields.
    entryType: fc.option(fc.integer({ min: 0, max: 1 })),
  });
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 12 }), (frames) => {
      const head = encode([], 0).buf;
      const parts: Buffer[] = [head];
      let seed = chainEnd(head);
      for (const f of frames) {
        const b = Buffer.alloc(frameSize(f.body.length));
        b.set(f.body, 16);
        if (f.entryType !== null && f.body.length > 16) b[16 + 16] = f.entryType;
        seed = sealFrame(b, 0, f.type, f.body.length, seed, f.flags);
        parts.push(b);
      }
      const res = read(Buffer.concat(parts));
      if (!(res instanceof WalError)) assert.ok(res.entries.every((e) => Number.isSafeInteger(e.index) && (e.type === 0 || e.type === 1)));
    }),
    fuzzParams(),
  );
});

test("generated logs round-trip: every entry, the last hard state, nothing torn", { timeout: TIMEOUT_MS }, () => {
  fc.assert(
    fc.property(fc.array(groupArb, { maxLength: 20 }), fc.nat(1000), (groups, seed) => {
      const enc = encode(groups, seed);
      const res = read(enc.buf);
      assert.ok(!(res instanceof WalError), String(res));
      assert.deepEqual(res.entries, enc.entries);
      assert.deepEqual(res.hardState, enc.hardStates.at(-1) ?? { term: 0, vote: 0n, commit: 0 });
      assert.equal(res.validEnd, enc.buf.length);
    }),
    fuzzParams(),
  );
});

test("damaged logs: never a record that was not written; never lose a write a later flagged write proves durable", { timeout: TIMEOUT_MS }, () => {
  fc.assert(
    fc.property(fc.array(groupArb, { minLength: 1, maxLength: 16 }), fc.nat(1000), damageArb, (groups, seed, d) => {
      const enc = encode(groups, seed);
      const damaged = applyDamage(enc.buf, d);
      const res = read(damaged);
      if (res instanceof WalError) return; // refusing is always allowed
      // What was read is a prefix of what was written (an overwritten tail aside: none here).
      assert.deepEqual(res.entries, enc.entries.slice(0, res.entries.length));
      assert.ok(
        enc.hardStates.some((h) => JSON.stringify({ ...h, vote: String(h.vote) }) === JSON.stringify({ ...res.hardState, vote: String(res.hardState.vote) })) ||
          res.hardState.commit === 0,
      );
      if (d.kind !== "zero") return;
      // Zeroed bytes are the torn-write damage model: a group followed by an intact flagged group was
      // synced before that one was written, so it must survive (or the open must refuse).
      const zStart = d.at % enc.buf.length;
      const zEnd = zStart + d.len;
      const proofs = enc.groups.filter((g) => g.flagged && g.start >= zEnd);
      if (proofs.length === 0) return;
      const mustKeep = Math.max(...proofs.map((g) => g.first - 1));
      assert.ok(res.entries.length >= mustKeep, `kept ${res.entries.length} entries, ${mustKeep} were proven durable`);
    }),
    fuzzParams(),
  );
});

test("Wal.open on a damaged last segment: the log or a WalError; a repair is final (a second open repairs nothing)", { timeout: TIMEOUT_MS }, async () => {
  const root = await mkdtemp(join(tmpdir(), "fuzz-wal-"));
  let n = 0;
  const prop = lastRun(async (groups: Group[], seed: number, d: Damage) => {
    const dir = join(root, `w${n++}`);
    const w = await Wal.create(dir, META);
    await w.close();
    const file = join(dir, "0000000000000000-0000000000000000.wal");
    await writeFile(file, applyDamage(encode(groups, seed).buf, d));
    let first;
    try {
      first = await Wal.open(dir, { index: 0, term: 0 });
    } catch (err) {
      if (!(err instanceof WalError)) throw err;
      await rm(dir, { recursive: true, force: true });
      return;
    }
    await first.wal.close();
    const size = (await stat(file)).size;
    const again = await Wal.open(dir, { index: 0, term: 0 });
    assert.deepEqual(again.entries, first.entries);
    assert.deepEqual(again.hardState, first.hardState);
    assert.equal((await stat(file)).size, size, "nothing more to repair");
    await again.wal.close();
    assert.equal((await readFile(file)).length, size);
    await rm(dir, { recursive: true, force: true });
  });
  try {
    await fc.assert(fc.asyncProperty(fc.array(groupArb, { minLength: 1, maxLength: 8 }), fc.nat(1000), damageArb, prop.run), fuzzParams(60));
  } finally {
    await prop.settled();
    await rm(root, { recursive: true, force: true });
  }
});

test("the real writer round-trips: Wal.save / saveSnapshot across segment cuts, then Wal.open", { timeout: TIMEOUT_MS }, async () => {
  const root = await mkdtemp(join(tmpdir(), "fuzz-walrt-"));
  let n = 0;
  const prop = lastRun(async (groups: Group[], seed: number, segmentSizeBytes: number) => {
    const dir = join(root, `w${n++}`);
    const wal = await Wal.create(dir, META, undefined, { segmentSizeBytes, inlineIoMaxBytes: seed % 2 === 0 ? 0 : 65536 });
    const written: Entry[] = [];
    let last: HardState = { term: 0, vote: 0n, commit: 0 };
    for (const g of groups) {
      const batch = Array.from({ length: g.entries }, (_, i) => entryOf(written.length + i + 1, g.dataSize, seed));
      written.push(...batch);
      const hs = g.hs ? { term: 1, vote: 2n, commit: written.length } : undefined;
      if (hs) last = hs;
      await wal.save(hs, batch, g.sync);
      if (g.sync && g.entries === 0 && written.length > 0) await wal.saveSnapshot({ index: written.length, term: 1 });
    }
    await wal.close();
    const r = await Wal.open(dir, { index: 0, term: 0 }, undefined, { segmentSizeBytes });
    assert.deepEqual(r.entries, written);
    assert.deepEqual(r.hardState, last);
    await r.wal.close();
    await rm(dir, { recursive: true, force: true });
  });
  try {
    await fc.assert(fc.asyncProperty(fc.array(groupArb, { minLength: 1, maxLength: 12 }), fc.nat(1000), fc.integer({ min: 256, max: 4096 }), prop.run), fuzzParams(40));
  } finally {
    await prop.settled();
    await rm(root, { recursive: true, force: true });
  }
});

/** The running crc at the end of an encoded segment head (to chain raw frames after it). */
function chainEnd(head: Buffer): number {
  const r = new LogReader({ index: 0, term: 0 }, 0);
  r.segment(FILE, head, true);
  return r.crc;
}
