import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Snapshot } from "../../server/raft/types.js";
import { Snapshotter, SnapError, decodeSnapshot, encodeSnapshot, snapName } from "../../server/snap/index.js";

function snap(term: number, index: number, size = 100): Snapshot {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index + i) & 0xff;
  return {
    metadata: {
      term,
      index,
      confState: { voters: [1n, 0xffffffffffffffffn, 0x8e9e05c52164694dn], learners: [0x8000000000000000n] },
    },
    data,
  };
}

async function withDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "snap-test-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  return join(root, "snap");
}

function capture() {
  const warns: string[] = [];
  return { warns, warn: (m: string) => void warns.push(m), info: () => undefined };
}

test("encode/decode keeps uint64 conf state IDs exact and the data bytes", () => {
  const s = snap(7, 12345, 1000);
  assert.deepEqual(decodeSnapshot(encodeSnapshot(s)), s);
  const empty: Snapshot = { metadata: { term: 1, index: 2, confState: { voters: [], learners: [] } }, data: new Uint8Array() };
  assert.deepEqual(decodeSnapshot(encodeSnapshot(empty)), empty);
  const bad = encodeSnapshot(s);
  bad[bad.length - 1]! ^= 1;
  assert.throws(() => decodeSnapshot(bad), (e: unknown) => e instanceof SnapError && e.code === "ECRC");
});

test("save writes %016x-%016x.snap atomically; loadNewest returns the newest; none gives undefined", async (t) => {
  const dir = await withDir(t);
  const s = new Snapshotter(dir);
  assert.equal(await s.loadNewest(), undefined, "missing directory");
  await s.save(snap(1, 0)); // empty snapshot: not written, as etcd
  assert.equal(await s.loadNewest(), undefined);
  await s.save(snap(1, 100));
  await s.save(snap(2, 200));
  await s.save(snap(2, 150));
  const names = (await readdir(dir)).sort();
  assert.deepEqual(names, [snapName(1, 100), snapName(2, 150), snapName(2, 200)]);
  assert.equal(snapName(2, 200), "0000000000000002-00000000000000c8.snap");
  assert.deepEqual(await s.loadNewest(), snap(2, 200));
  assert.deepEqual(await Snapshotter.read(join(dir, snapName(1, 100))), snap(1, 100));
});

test("a corrupt newest snapshot is renamed .broken and the previous one is used", async (t) => {
  const dir = await withDir(t);
  const log = capture();
  const s = new Snapshotter(dir, log);
  await s.save(snap(1, 100));
  await s.save(snap(1, 200));
  await s.save(snap(1, 300));
  // Newest: a flipped data byte. Next: truncated.
  const p300 = join(dir, snapName(1, 300));
  const buf = await readFile(p300);
  buf[buf.length - 10]! ^= 0x20;
  await writeFile(p300, buf);
  await truncate(join(dir, snapName(1, 200)), 30);
  assert.deepEqual(await s.loadNewest(), snap(1, 100));
  const names = (await readdir(dir)).sort();
  assert.deepEqual(names, [snapName(1, 100), `${snapName(1, 200)}.broken`, `${snapName(1, 300)}.broken`]);
  assert.equal(log.warns.length, 2);
  assert.ok(log.warns.some((w) => w.includes(p300) && w.includes("crc mismatch")), log.warns.join("\n"));
  // An empty file is broken too.
  await writeFile(join(dir, snapName(1, 400)), Buffer.alloc(0));
  assert.deepEqual(await s.loadNewest(), snap(1, 100));
});

test("loadNewestAvailable only returns a snapshot the WAL has a marker for", async (t) => {
  const dir = await withDir(t);
  const s = new Snapshotter(dir);
  await s.save(snap(1, 100));
  await s.save(snap(1, 200));
  assert.deepEqual(await s.loadNewestAvailable([{ index: 0, term: 0 }, { index: 100, term: 1 }]), snap(1, 100));
  assert.equal(await s.loadNewestAvailable([{ index: 200, term: 2 }]), undefined);
});

test("purge keeps the newest `keep` files; 0 keeps all; leftover temp files go", async (t) => {
  const dir = await withDir(t);
  const s = new Snapshotter(dir);
  for (let i = 1; i <= 6; i++) await s.save(snap(1, i * 10, 10));
  await writeFile(join(dir, `${snapName(1, 70)}.99.0.tmp`), "partial");
  await writeFile(join(dir, "db"), "backend");
  await s.purge(0);
  assert.equal((await readdir(dir)).filter((n) => n.endsWith(".snap")).length, 6);
  await s.purge(2);
  assert.deepEqual((await readdir(dir)).sort(), [snapName(1, 50), snapName(1, 60), "db"]);
  assert.deepEqual(await s.loadNewest(), snap(1, 60, 10));
});
