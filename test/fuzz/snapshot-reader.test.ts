/**
 * Fuzzing the snapshot file reader (server/snap/snapshotter.ts): random, truncated or corrupted
 * bytes give a SnapError (never another exception, never a snapshot that differs from what was
 * written), generated snapshots round-trip, and loading a directory with damaged files returns the
 * newest intact snapshot (the damaged ones set aside as *.broken), without throwing.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { SnapError, Snapshotter, decodeSnapshot, encodeSnapshot, snapName } from "../../server/snap/index.js";
import type { Snapshot } from "../../server/raft/types.js";
import { fuzzParams } from "./settings.js";

const NP = { noNullPrototype: true } as const;
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const snapshotArb: fc.Arbitrary<Snapshot> = fc.record(
  {
    metadata: fc.record(
      {
        index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        term: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        confState: fc.record({ voters: fc.array(u64, { maxLength: 7 }), learners: fc.array(u64, { maxLength: 3 }) }, NP),
      },
      NP,
    ),
    data: fc.uint8Array({ maxLength: 200 }),
  },
  NP,
);

function decodeOrSnapError(b: Buffer): Snapshot | SnapError {
  try {
    return decodeSnapshot(b);
  } catch (e) {
    if (e instanceof SnapError) return e;
    throw new Error(`decodeSnapshot threw a ${(e as Error)?.constructor?.name}: ${String(e)}`);
  }
}

/** A valid file damaged: bytes changed (each to a different value) and/or cut short, or grown. */
const damagedArb = fc
  .tuple(
    snapshotArb,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
    fc.option(fc.nat(), { nil: undefined }),
    fc.uint8Array({ maxLength: 4 }),
  )
  .filter(([, flips, cut, extra]) => flips.length > 0 || cut !== undefined || extra.length > 0)
  .map(([s, flips, cut, extra]) => {
    const good = encodeSnapshot(s);
    let b = Buffer.from(good);
    const seen = new Set<number>();
    for (const [pos, x] of flips) {
      const p = pos % b.length;
      if (seen.has(p)) continue; // two flips of one byte could cancel out
      seen.add(p);
      b[p]! ^= x;
    }
    if (cut !== undefined) b = b.subarray(0, cut % b.length);
    else if (seen.size === 0) b = Buffer.concat([b, extra]);
    return { good, b };
  });

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("snapshot file reader", () => {
  it("any bytes give a snapshot or a SnapError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void decodeOrSnapError(Buffer.from(b))),
      fuzzParams(),
    );
  });

  it("bytes that start like a snapshot file (magic, version) but are random after: a SnapError", () => {
    const header = Buffer.from([0x45, 0x54, 0x53, 0x53, 1, 0, 0, 0]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const r = decodeOrSnapError(Buffer.concat([header, b]));
        assert.ok(r instanceof SnapError, "random content after a valid header does not verify");
      }),
      fuzzParams(),
    );
  });

  it("generated snapshots round-trip", () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const back = decodeSnapshot(encodeSnapshot(s));
        assert.deepEqual({ ...back, data: Buffer.from(back.data) }, { ...s, data: Buffer.from(s.data) });
      }),
      fuzzParams(),
    );
  });

  it("a damaged file (bytes changed, truncated, or grown) is a SnapError, never a different snapshot", () => {
    fc.assert(
      fc.property(damagedArb, ({ b }) => {
        const r = decodeOrSnapError(b);
        assert.ok(r instanceof SnapError, `damaged bytes decoded to a snapshot: ${JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`);
      }),
      fuzzParams(),
    );
  });

  it("loading a directory whose newest file is damaged returns the older intact snapshot and sets the damaged one aside", async () => {
    await fc.assert(
      fc.asyncProperty(snapshotArb, damagedArb, async (older, { b }) => {
        const dir = mkdtempSync(join(tmpdir(), "etcd-ts-fuzz-snap-"));
        dirs.push(dir);
        const olderSnap = { ...older, metadata: { ...older.metadata, term: 1, index: 1 } };
        writeFileSync(join(dir, snapName(1, 1)), encodeSnapshot(olderSnap));
        const newest = snapName(2, 2);
        writeFileSync(join(dir, newest), b);
        const loaded = await new Snapshotter(dir).loadNewest();
        assert.ok(loaded, "the older snapshot is found");
        assert.equal(loaded.metadata.index, 1);
        assert.deepEqual(Buffer.from(loaded.data), Buffer.from(olderSnap.data));
        assert.ok(readdirSync(dir).includes(`${newest}.broken`), "the damaged file is renamed *.broken");
        rmSync(dir, { recursive: true, force: true });
      }),
      fuzzParams(50),
    );
  });
});
