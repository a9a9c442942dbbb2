/**
 * DurableLog: the WAL and the snapshot files behind one queue. Saves reach the WAL in call order,
 * whoever makes them; a snapshot marker is written after the saves before it and before the saves
 * after it, and only once the snapshot file is saved. (Whether a save runs inline or on the thread
 * pool is the WAL's choice by size alone: wal.ts inlineIoMaxBytes.)
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DurableLog } from "../../server/etcdserver/durable-log.js";
import type { Wal, WalSnapshot } from "../../server/wal/wal.js";
import type { Snapshotter } from "../../server/snap/snapshotter.js";
import type { Entry, HardState, Snapshot } from "../../server/raft/types.js";

const tick = () => new Promise<void>((r) => setImmediate(r));

function recorder(events: string[]): Wal {
  const wal = {
    async save(_hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean, ...rest: unknown[]) {
      for (let i = 0; i < entries.length; i++) await tick(); // bigger saves take longer: a later, smaller one must still wait
      events.push(`save ${entries.map((e) => e.index).join(",")} sync=${mustSync} extra=${rest.length}`);
    },
    async saveSnapshot(s: WalSnapshot) {
      events.push(`marker ${s.index}`);
    },
  };
  return wal as unknown as Wal;
}

const hs = { term: 2n, vote: 1n, commit: 5 } as unknown as HardState;
const entry = (index: number) => ({ index, term: 2n, type: 0, data: new Uint8Array(3) }) as unknown as Entry;

describe("DurableLog", () => {
  test("saves reach the WAL in call order with their own arguments; a snapshot marker waits for its file and keeps its place", async () => {
    const events: string[] = [];
    let fileSaved!: () => void;
    const snapshotter = {
      save: (s: Snapshot) => new Promise<void>((r) => (fileSaved = () => (events.push(`file ${s.metadata.index}`), r()))),
    } as unknown as Snapshotter;
    const log = new DurableLog(recorder(events), snapshotter);
    const calls = [log.save(hs, [entry(6), entry(7)], true), log.save(hs, [entry(8)], true), log.save(hs, [], false)];
    const snap = log.saveSnapshot({ metadata: { index: 8, term: 2n } } as unknown as Snapshot);
    await Promise.all(calls);
    assert.deepEqual(events, ["save 6,7 sync=true extra=0", "save 8 sync=true extra=0", "save  sync=false extra=0"]);
    fileSaved();
    await snap;
    const after = log.save(hs, [entry(9)], true);
    await after;
    assert.deepEqual(events.slice(3), ["file 8", "marker 8", "save 9 sync=true extra=0"]);
  });
});
