/** The watchable store over a real MVCC store: synced and unsynced delivery, compaction, filters, ordering, exactly-once. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { WatchableStore, ErrEmptyWatcherRange, ErrWatcherDuplicateID, type StoreWatchResponse, type WatchSink } from "../../server/watch/index.js";
import { EventType } from "../../server/pb/kv.js";
import { B, FROM_KEY, NONE, S, openTempStore, type TempStore } from "../mvcc/helpers.js";
import { ManualClock } from "../support/manual-clock.js";
import { mulberry32 } from "../support/prng.js";

const stores: TempStore[] = [];
const watchables: WatchableStore[] = [];
function fresh(opts: ConstructorParameters<typeof WatchableStore>[1] = {}): { t: TempStore; ws: WatchableStore } {
  const t = openTempStore();
  stores.push(t);
  // a long interval: tests drive catch-up passes themselves with syncWatchers()
  const ws = new WatchableStore(t.store, { syncIntervalMs: 60_000, ...opts });
  watchables.push(ws);
  return { t, ws };
}
after(async () => {
  for (const w of watchables) w.close();
  for (const t of stores) await t.destroy().catch(() => undefined);
});

class TestSink implements WatchSink {
  readonly got: StoreWatchResponse[] = [];
  open = true;
  writable(): boolean {
    return this.open;
  }
  send(r: StoreWatchResponse): void {
    this.got.push(r);
  }
  /** [watchId, revision, "PUT k=v" | "DELETE k", ...] per response */
  summary(): string[] {
    return this.got.map(
      (r) =>
        `${r.watchId}@${r.revision}${r.compactRevision ? ` compacted ${r.compactRevision}` : ""}: ` +
        r.events.map((e) => (e.type === EventType.Put ? `PUT ${S(e.kv.key)}=${S(e.kv.value)}` : `DELETE ${S(e.kv.key)}`) + (e.prevKv ? `(prev ${S(e.prevKv.value)})` : "")).join(", "),
    );
  }
}

let ci = 0;
/** Delivers what the writes queued for the synced watchers, as the tick after a commit does (tests check at once). */
const delivered = <T>(r: T): T => {
  for (const w of watchables) w.deliverQueued();
  return r;
};
/** A put left to the store's own delivery (at once, or queued for the tick after). */
const commitPut = (t: TempStore, k: string, v: string) => t.store.write(++ci, (txn) => txn.put(B(k), B(v), 0n));
const put = (t: TempStore, ...kvs: Array<[string, string]>) =>
  delivered(
    t.store.write(++ci, (txn) => {
      for (const [k, v] of kvs) txn.put(B(k), B(v), 0n);
    }),
  );
const del = (t: TempStore, key: string, end: Buffer = NONE) => delivered(t.store.write(++ci, (txn) => txn.deleteRange(B(key), end)));

describe("synced watchers", () => {
  it("get each committed revision as it commits: one response per revision with all its matching events", () => {
    const { t, ws } = fresh();
    const sink = new TestSink();
    const s = ws.newStream(sink);
    s.watch(0, { key: B("a"), end: undefined, startRev: 0 }); // single key
    s.watch(0, { key: B("b"), end: B("c"), startRev: 0 }); // prefix b
    s.watch(0, { key: B("c"), end: Buffer.alloc(0), startRev: 0 }); // from key c
    put(t, ["a", "1"]); // 2
    put(t, ["b1", "1"], ["a", "2"], ["b2", "1"], ["z", "1"]); // 3
    del(t, "b", B("c")); // 4
    put(t, ["0", "ignored"]); // 5
    assert.deepEqual(sink.summary(), [
      "0@2: PUT a=1",
      "1@3: PUT b1=1, PUT b2=1",
      "0@3: PUT a=2",
      "2@3: PUT z=1",
      "1@4: DELETE b1, DELETE b2",
    ]);
  });

  it("filters drop puts or deletes (nothing is sent when all are dropped); prev_kv only when asked", () => {
    const { t, ws } = fresh();
    const sink = new TestSink();
    const s = ws.newStream(sink);
    s.watch(10, { key: B("k"), end: undefined, startRev: 0, noPut: true });
    s.watch(11, { key: B("k"), end: undefined, startRev: 0, noDelete: true, prevKv: true });
    s.watch(12, { key: B("k"), end: undefined, startRev: 0, noPut: true, noDelete: true });
    put(t, ["k", "1"]);
    put(t, ["k", "2"]);
    del(t, "k");
    assert.deepEqual(sink.summary(), ["11@2: PUT k=1", "11@3: PUT k=2(prev 1)", "10@4: DELETE k"]);
  });

  it("a future start revision waits for it", () => {
    const { t, ws } = fresh();
    const sink = new TestSink();
    ws.newStream(sink).watch(0, { key: B("k"), end: undefined, startRev: 4 });
    put(t, ["k", "1"]);
    put(t, ["k", "2"]);
    put(t, ["k", "3"]); // 4
    assert.deepEqual(sink.summary(), ["0@4: PUT k=3"]);
  });
});

describe("watch IDs and ranges", () => {
  it("auto IDs count up skipping IDs in use; a client ID in use or an empty range is refused", () => {
    const { ws } = fresh();
    const s = ws.newStream(new TestSink());
    const spec = { key: B("a"), end: undefined, startRev: 0 };
    assert.equal(s.watch(1, spec), 1);
    assert.equal(s.watch(0, spec), 0);
    assert.equal(s.watch(0, spec), 2);
    assert.throws(() => s.watch(1, spec), ErrWatcherDuplicateID);
    assert.throws(() => s.watch(0, { key: B("b"), end: B("a"), startRev: 0 }), ErrEmptyWatcherRange);
    assert.throws(() => s.watch(0, { key: B("b"), end: B("b"), startRev: 0 }), ErrEmptyWatcherRange);
    assert.equal(s.cancel(2), true);
    assert.equal(s.cancel(2), false);
    assert.equal(s.watch(0, spec), 3, "the counter does not go back");
  });

  it("a canceled watcher gets nothing more; a closed stream neither", () => {
    const { t, ws } = fresh();
    const sink = new TestSink();
    const s = ws.newStream(sink);
    const id = s.watch(0, { key: B("a"), end: FROM_KEY.subarray(0, 0), startRev: 0 });
    put(t, ["a", "1"]);
    s.cancel(id);
    put(t, ["a", "2"]);
    s.watch(0, { key: B("a"), end: undefined, startRev: 0 });
    s.close();
    put(t, ["a", "3"]);
    assert.deepEqual(sink.summary(), ["0@2: PUT a=1"]);
    assert.deepEqual(ws.counts(), { synced: 0, unsynced: 0 });
  });
});

describe("previous values (prev_kv)", () => {
  it("a watcher created with prev_kv gets an overwrite's previous value; the store reads previous values only while one exists", () => {
    const { t, ws } = fresh();
    put(t, ["k", "1"]); // 2
    let prevSeen: string | undefined;
    const off = t.store.onCommit((evs) => (prevSeen = evs[0]!.prevKv ? S(evs[0]!.prevKv.value) : undefined));
    put(t, ["k", "2"]); // 3
    assert.equal(prevSeen, undefined, "no watcher wants previous values: the put reads none");
    const sink = new TestSink();
    const s = ws.newStream(sink);
    const plain = s.watch(0, { key: B("k"), end: undefined, startRev: 0 });
    const withPrev = s.watch(0, { key: B("k"), end: undefined, startRev: 0, prevKv: true });
    put(t, ["k", "3"]); // 4
    assert.equal(prevSeen, "2");
    assert.deepEqual(sink.summary(), [`${plain}@4: PUT k=3`, `${withPrev}@4: PUT k=3(prev 2)`]);
    s.cancel(withPrev);
    put(t, ["k", "4"]); // 5
    assert.equal(prevSeen, undefined, "the prev_kv watcher is gone");
    // one created now from a past revision reads the previous values the puts did not carry
    const late = s.watch(0, { key: B("k"), end: undefined, startRev: 5, prevKv: true });
    ws.syncWatchers();
    assert.equal(sink.summary().at(-1), `${late}@5: PUT k=4(prev 3)`);
    s.close();
    put(t, ["k", "5"]); // 6
    assert.equal(prevSeen, undefined, "a closed stream's watchers hold nothing");
    off();
  });
});

describe("unsynced watchers", () => {
  it("catch up from history (header revision = the current one), then continue synced", () => {
    const { t, ws } = fresh();
    put(t, ["a", "1"]); // 2
    put(t, ["a", "2"], ["b", "x"]); // 3
    del(t, "a"); // 4
    const sink = new TestSink();
    const s = ws.newStream(sink);
    s.watch(0, { key: B("a"), end: undefined, startRev: 2, prevKv: true });
    assert.deepEqual(ws.counts(), { synced: 0, unsynced: 1 });
    assert.equal(ws.syncWatchers(), 0);
    assert.deepEqual(ws.counts(), { synced: 1, unsynced: 0 });
    put(t, ["a", "3"]);
    assert.deepEqual(sink.summary(), ["0@4: PUT a=1, PUT a=2(prev 1), DELETE a(prev 2)", "0@5: PUT a=3"]);
  });

  it("a start revision below the compacted one cancels the watch with compact_revision; at it, works", () => {
    const { t, ws } = fresh();
    for (let i = 0; i < 5; i++) put(t, ["k", String(i)]); // 2..6
    t.store.compact(++ci, 4);
    const sink = new TestSink();
    const s = ws.newStream(sink);
    s.watch(1, { key: B("k"), end: undefined, startRev: 3 });
    s.watch(2, { key: B("k"), end: undefined, startRev: 4 });
    ws.syncWatchers();
    assert.deepEqual(sink.summary(), ["1@0 compacted 4: ", "2@6: PUT k=2, PUT k=3, PUT k=4"]);
    assert.equal(s.cancel(1), true, "a compacted watch can still be canceled");
  });

  it("batches are whole revisions of bounded size; revisions come in order", () => {
    const { t, ws } = fresh({ maxEventsPerSync: 3 });
    put(t, ["a", "1"], ["b", "1"]); // 2
    put(t, ["a", "2"], ["b", "2"]); // 3
    put(t, ["a", "3"]); // 4
    put(t, ["a", "4"], ["b", "4"], ["c", "4"], ["d", "4"]); // 5: alone bigger than a batch
    put(t, ["a", "5"]); // 6
    const sink = new TestSink();
    ws.newStream(sink).watch(0, { key: B("a"), end: B("z"), startRev: 2 });
    let passes = 0;
    while (ws.syncWatchers() > 0 && passes < 20) passes++;
    assert.deepEqual(sink.summary(), [
      "0@6: PUT a=1, PUT b=1, PUT a=2, PUT b=2",
      "0@6: PUT a=3, PUT a=4, PUT b=4, PUT c=4, PUT d=4",
      "0@6: PUT a=5",
    ]);
  });

  it("a backed-up stream stops getting events without blocking writes or other streams, and catches up exactly once", () => {
    const { t, ws } = fresh();
    const slow = new TestSink();
    const fast = new TestSink();
    ws.newStream(slow).watch(0, { key: B("k"), end: undefined, startRev: 0 });
    ws.newStream(fast).watch(0, { key: B("k"), end: undefined, startRev: 0 });
    put(t, ["k", "1"]);
    slow.open = false;
    put(t, ["k", "2"]);
    put(t, ["k", "3"]);
    assert.deepEqual(ws.counts(), { synced: 1, unsynced: 1 });
    ws.syncWatchers(); // still backed up: nothing
    slow.open = true;
    ws.syncWatchers();
    put(t, ["k", "4"]);
    assert.deepEqual(slow.summary(), ["0@2: PUT k=1", "0@4: PUT k=2, PUT k=3", "0@5: PUT k=4"]);
    assert.deepEqual(fast.summary(), ["0@2: PUT k=1", "0@3: PUT k=2", "0@4: PUT k=3", "0@5: PUT k=4"]);
  });

  it("exactly once, in order, whole revisions: random writes interleaved with catch-up passes and back-pressure", () => {
    let seed = 42; // mulberry32
    const rnd = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) % n;
    };
    const { t, ws } = fresh({ maxEventsPerSync: 4, maxWatchersPerSync: 3 });
    const keys = ["a", "b", "c", "d", "e"];
    const history: Array<{ rev: number; events: string[] }> = [];
    const write = () => {
      const n = 1 + rnd(3);
      const chosen = [...new Set(Array.from({ length: n }, () => keys[rnd(keys.length)]!))];
      const before = t.store.currentRevision();
      if (rnd(4) === 0) del(t, chosen[0]!);
      else put(t, ...chosen.map((k): [string, string] => [k, `v${before + 1}`]));
      if (t.store.currentRevision() > before) {
        const evs = t.store.history(before + 1, before + 1).map((e) => `${e.type === EventType.Put ? "PUT" : "DELETE"} ${S(e.kv.key)}`);
        history.push({ rev: before + 1, events: evs });
      }
    };
    for (let i = 0; i < 20; i++) write();
    const sinks: Array<{ sink: TestSink; from: number; lo: string; hi: string }> = [];
    for (let i = 0; i < 8; i++) {
      const sink = new TestSink();
      const from = rnd(2) === 0 ? 0 : 1 + rnd(t.store.currentRevision());
      const lo = keys[rnd(3)]!;
      const hi = keys[2 + rnd(3)]! + "\xff";
      ws.newStream(sink).watch(0, { key: B(lo), end: B(hi), startRev: from });
      sinks.push({ sink, from: from === 0 ? t.store.currentRevision() + 1 : from, lo, hi });
    }
    for (let step = 0; step < 300; step++) {
      const r = rnd(10);
      if (r < 5) write();
      else if (r < 8) ws.syncWatchers();
      else {
        const s = sinks[rnd(sinks.length)]!.sink;
        s.open = !s.open;
      }
    }
    for (const s of sinks) s.sink.open = true;
    for (let i = 0; i < 1000 && ws.syncWatchers() > 0; i++);
    assert.deepEqual(ws.counts().unsynced, 0);
    for (const { sink, from, lo, hi } of sinks) {
      const want = history
        .filter((h) => h.rev >= from)
        .map((h) => ({ rev: h.rev, events: h.events.filter((e) => e.split(" ")[1]! >= lo && e.split(" ")[1]! < hi) }))
        .filter((h) => h.events.length > 0);
      // flatten what was received: per revision, events in order, each revision in one response
      const got: Array<{ rev: number; events: string[] }> = [];
      for (const r of sink.got) {
        const byRev = new Map<number, string[]>();
        for (const e of r.events) {
          const list = byRev.get(e.kv.modRevision) ?? [];
          list.push(`${e.type === EventType.Put ? "PUT" : "DELETE"} ${S(e.kv.key)}`);
          byRev.set(e.kv.modRevision, list);
        }
        for (const [rev, events] of byRev) got.push({ rev, events });
      }
      assert.deepEqual(got, want, `watcher [${lo}, ${hi}) from ${from}`);
    }
  });

  // 0: every revision queued; Infinity: every revision at once; between: both, as watchers come, back up and go
  for (const deferFanOutAbove of [0, 4, 12, Infinity]) {
    it(`exactly once, in order, with delivery after the commit above ${deferFanOutAbove} synced watchers: watchers added and caught up between a commit and its delivery`, () => {
      const next = mulberry32(7);
      const rnd = (n: number) => Math.floor(next() * n);
      const { t, ws } = fresh({ maxEventsPerSync: 4, maxWatchersPerSync: 3, deferFanOutAbove });
      const keys = ["a", "b", "c", "d", "e"];
      const history: Array<{ rev: number; key: string }> = [];
      // left to the store: handed over at once, or queued until a deliverQueued() step below (the tick after)
      const write = () => {
        const key = keys[rnd(keys.length)]!;
        commitPut(t, key, "v");
        history.push({ rev: t.store.currentRevision(), key });
      };
      const sinks: Array<{ sink: TestSink; from: number; key: string }> = [];
      const addWatcher = () => {
        const sink = new TestSink();
        const key = keys[rnd(keys.length)]!;
        const cur = t.store.currentRevision();
        const from = rnd(2) === 0 ? 0 : Math.max(1, cur - rnd(4)); // now, or a revision that may still be queued
        ws.newStream(sink).watch(0, { key: B(key), end: undefined, startRev: from });
        sinks.push({ sink, from: from === 0 ? cur + 1 : from, key });
      };
      for (let i = 0; i < 5; i++) write();
      ws.deliverQueued();
      for (let step = 0; step < 400; step++) {
        const r = rnd(10);
        if (r < 4) write();
        else if (r < 6) addWatcher();
        else if (r < 8) ws.deliverQueued();
        else if (r < 9) ws.syncWatchers();
        else if (sinks.length > 0) {
          const s = sinks[rnd(sinks.length)]!.sink;
          s.open = !s.open;
        }
      }
      for (const s of sinks) s.sink.open = true;
      ws.deliverQueued();
      for (let i = 0; i < 1000 && ws.syncWatchers() > 0; i++);
      assert.equal(ws.counts().unsynced, 0);
      assert.ok(sinks.length > 20);
      for (const { sink, from, key } of sinks) {
        const want = history.filter((h) => h.rev >= from && h.key === key).map((h) => h.rev);
        const got = sink.got.flatMap((resp) => resp.events.map((e) => e.kv.modRevision));
        assert.deepEqual(got, want, `watcher of ${key} from ${from}`);
      }
    });
  }

  it("after a snapshot restore, synced watchers catch up on the new state from where they were", async () => {
    const src = fresh();
    for (let i = 0; i < 4; i++) put(src.t, ["k", String(i)]); // 2..5
    const file = join(src.t.dir, "snap.db");
    await src.t.backend.backup(file);
    const { t, ws } = fresh();
    put(t, ["k", "x"]); // 2 (to be replaced)
    const sink = new TestSink();
    ws.newStream(sink).watch(0, { key: B("k"), end: undefined, startRev: 0 });
    await t.store.restoreFrom(file);
    ws.restored();
    ws.syncWatchers();
    put(t, ["k", "after"]);
    assert.deepEqual(sink.summary(), ["0@5: PUT k=1, PUT k=2, PUT k=3", "0@6: PUT k=after"]);
  });
});

describe("progress", () => {
  it("a synced watcher gets an empty response at the current revision; an unsynced one nothing", () => {
    const { t, ws } = fresh();
    put(t, ["a", "1"]);
    const sink = new TestSink();
    const s = ws.newStream(sink);
    s.watch(0, { key: B("zz"), end: undefined, startRev: 0 });
    s.watch(0, { key: B("zz"), end: undefined, startRev: 1 });
    s.requestProgress(0);
    s.requestProgress(1);
    s.requestProgress(9);
    assert.deepEqual(sink.summary(), ["0@2: "]);
  });
});

describe("timer-driven catch-up (on the store's clock)", () => {
  function clocked(): { t: TempStore; ws: WatchableStore; clock: ManualClock } {
    const t = openTempStore();
    stores.push(t);
    const clock = new ManualClock();
    const ws = new WatchableStore(t.store, { clock });
    watchables.push(ws);
    return { t, ws, clock };
  }

  it("runs by itself right after an unsynced watcher is added (not inside watch())", async () => {
    const { t, ws, clock } = clocked();
    put(t, ["k", "1"]);
    const sink = new TestSink();
    ws.newStream(sink).watch(0, { key: B("k"), end: undefined, startRev: 1 });
    assert.deepEqual(sink.got, []);
    await clock.advance(0);
    assert.deepEqual(sink.summary(), ["0@2: PUT k=1"]);
  });

  it("a pass that could not deliver (the consumer is not writable) is tried again after the sync interval, not before", async () => {
    const { t, ws, clock } = clocked();
    put(t, ["k", "1"]);
    const sink = new TestSink();
    sink.open = false;
    ws.newStream(sink).watch(0, { key: B("k"), end: undefined, startRev: 1 });
    await clock.advance(0);
    assert.deepEqual(sink.got, [], "not writable: nothing sent");
    sink.open = true;
    await clock.advance(99);
    assert.deepEqual(sink.got, [], "the next pass is a sync interval (100 ms) later");
    await clock.advance(1);
    assert.deepEqual(sink.summary(), ["0@2: PUT k=1"]);
  });
});

describe("delivery after the commit", () => {
  it("a revision reaches the synced watchers after the microtasks of the code that committed it (a put's answer goes first)", async () => {
    const { t, ws } = fresh({ deferFanOutAbove: 0 });
    const order: string[] = [];
    const sink = new TestSink();
    const send = sink.send.bind(sink);
    sink.send = (r) => {
      order.push(`event ${r.revision}`);
      send(r);
    };
    ws.newStream(sink).watch(0, { key: B("k"), end: undefined, startRev: 0 });
    await Promise.resolve(); // the raft loop applies inside a promise continuation
    commitPut(t, "k", "1");
    assert.equal(order.length, 0, "not inside the commit");
    // the answer: a chain of continuations, as the request handler's await and the write to its connection
    const answered = Promise.resolve()
      .then(() => Promise.resolve())
      .then(() => order.push("answer"));
    await answered;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ["answer", `event ${t.store.currentRevision()}`]);
  });

  it("a watcher added, canceled or asked for progress before a queued revision is delivered", () => {
    const { t, ws } = fresh({ deferFanOutAbove: 0 });
    const sink = new TestSink();
    const s = ws.newStream(sink);
    const early = s.watch(0, { key: B("k"), end: undefined, startRev: 0 });
    const canceled = s.watch(0, { key: B("k"), end: undefined, startRev: 0 });
    commitPut(t, "k", "1"); // 2, queued
    const rev = t.store.currentRevision();
    const now = s.watch(0, { key: B("k"), end: undefined, startRev: 0 }); // from 3: must not get 2
    const at = s.watch(0, { key: B("k"), end: undefined, startRev: rev }); // unsynced: 2 from history, once
    s.cancel(canceled);
    ws.syncWatchers();
    assert.deepEqual(sink.summary(), [`${at}@${rev}: PUT k=1`]);
    s.requestProgress(early); // the queued revision is handed over first, then the progress response
    assert.deepEqual(sink.summary(), [`${at}@${rev}: PUT k=1`, `${early}@${rev}: PUT k=1`, `${early}@${rev}: `]);
    ws.deliverQueued(); // nothing left: delivered once
    assert.equal(sink.got.length, 3);
    commitPut(t, "k", "2"); // 3
    ws.deliverQueued();
    assert.deepEqual(
      sink.summary().slice(3).sort(),
      [early, now, at].map((id) => `${id}@${rev + 1}: PUT k=2`).sort(),
    );
    assert.ok(s.allSynced());
  });

  it("while at most 4 watchers are synced (the default) and nothing is queued, a revision reaches them inside its commit", () => {
    const { t, ws } = fresh();
    const sink = new TestSink();
    const s = ws.newStream(sink);
    for (let i = 0; i < 4; i++) s.watch(0, { key: B("k"), end: undefined, startRev: 0 });
    commitPut(t, "k", "1");
    assert.equal(sink.got.length, 4, "4 synced watchers: at once");
    s.watch(0, { key: B("k"), end: undefined, startRev: 0 });
    commitPut(t, "k", "2");
    assert.equal(sink.got.length, 4, "5: after the commit");
    ws.deliverQueued();
    assert.equal(sink.got.length, 9);
  });

  it("a revision committed while an earlier one is queued is handed over after it, however few watchers are left", () => {
    const { t, ws } = fresh({ deferFanOutAbove: 1 });
    const sink = new TestSink();
    const s = ws.newStream(sink);
    const kept = s.watch(0, { key: B("k"), end: undefined, startRev: 0 });
    const gone = s.watch(0, { key: B("k"), end: undefined, startRev: 0 });
    commitPut(t, "k", "1"); // two synced: queued
    const rev = t.store.currentRevision();
    s.cancel(gone); // one left: the next revision could go at once, but must not overtake the queued one
    commitPut(t, "k", "2");
    assert.equal(sink.got.length, 0);
    ws.deliverQueued();
    assert.deepEqual(sink.summary(), [`${kept}@${rev}: PUT k=1`, `${kept}@${rev + 1}: PUT k=2`]);
  });
});
