/** The per-stream watch protocol (WatchSession) over a real store: progress notifications, fragments, created-before-events. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { WatchSession, type WireWatchResponse } from "../../server/etcdserver/requests/watch-session.js";
import type { EtcdServer } from "../../server/etcdserver/server.js";
import { WatchableStore } from "../../server/watch/index.js";
import { B, openTempStore, type TempStore } from "../mvcc/helpers.js";
import { ManualClock, settle } from "../support/manual-clock.js";

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

function setup(opts: { maxRequestBytes?: number; progressNotifyMs?: number; clock?: ManualClock; deferFanOutAbove?: number } = {}) {
  const t: TempStore = openTempStore();
  const ws = new WatchableStore(t.store, opts.deferFanOutAbove === undefined ? {} : { deferFanOutAbove: opts.deferFanOutAbove });
  const server = {
    watchable: ws,
    header: (rev?: number) => ({ clusterId: 1n, memberId: 2n, revision: rev ?? t.store.currentRevision(), raftTerm: 3 }),
  } as unknown as EtcdServer;
  const got: WireWatchResponse[] = [];
  const session = new WatchSession(server, { write: (r) => got.push(r), writable: () => true }, {
    maxRequestBytes: opts.maxRequestBytes ?? 1.5 * 1024 * 1024,
    progressNotifyMs: opts.progressNotifyMs ?? 60_000,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  cleanup.push(
    () => session.close(),
    () => ws.close(),
    () => t.destroy(),
  );
  let ci = 0;
  // delivered at once, as the tick after the commit would (the session's output is checked right after)
  const put = (...kvs: Array<[string, string | Buffer]>) => {
    t.store.write(++ci, (txn) => {
      for (const [k, v] of kvs) txn.put(B(k), typeof v === "string" ? B(v) : v, 0n);
    });
    ws.deliverQueued();
  };
  return { t, session, got, put };
}

const brief = (r: WireWatchResponse) => ({
  id: r.watch_id,
  rev: r.header.revision,
  ...(r.created ? { created: true } : {}),
  ...(r.canceled ? { canceled: true } : {}),
  ...(r.fragment ? { fragment: true } : {}),
  events: r.events.length,
});

describe("WatchSession", () => {
  it("sends progress notifications only to idle progress_notify watchers that are synced", async () => {
    // the progress interval is 100 ms plus up to 10% jitter; time moves only by the manual clock
    const clock = new ManualClock();
    const { session, got, put } = setup({ progressNotifyMs: 100, clock });
    session.handle({ create_request: { key: B("p"), range_end: Buffer.alloc(0), start_revision: 0, progress_notify: true, filters: [], prev_kv: false, watch_id: 0, fragment: false } });
    session.handle({ create_request: { key: B("q"), range_end: Buffer.alloc(0), start_revision: 0, progress_notify: false, filters: [], prev_kv: false, watch_id: 0, fragment: false } });
    // keep watcher 0 busy for a while: no progress notification while it gets events
    for (let i = 0; i < 6; i++) {
      put(["p", String(i)]);
      await settle();
      await clock.advance(40);
    }
    const busy = got.filter((r) => r.watch_id === 0 && !r.created && r.events.length === 0).length;
    await clock.advance(400);
    const idle = got.filter((r) => r.watch_id === 0 && !r.created && r.events.length === 0);
    assert.equal(busy, 0, "no progress notification while the watcher receives events");
    assert.ok(idle.length - busy >= 1, "an idle watcher gets progress notifications");
    assert.equal(idle.at(-1)!.header.revision, 7);
    assert.equal(got.filter((r) => r.watch_id === 1 && !r.created).length, 0, "no progress for a watcher that did not ask");
  });

  it("splits a large response into fragments only for watchers that asked; a single event is never split", () => {
    const { session, got, put } = setup({ maxRequestBytes: 1 });
    // threshold: 1 byte + 512 KiB
    const big = Buffer.alloc(200_000, 0x62);
    put(["a", big], ["b", big], ["c", big], ["d", big]); // 2: ~800 kB in one revision
    put(["e", Buffer.alloc(700_000, 0x63)]); // 3: one event above the threshold
    session.handle({ create_request: { key: B("a"), range_end: B("z"), start_revision: 2, progress_notify: false, filters: [], prev_kv: false, watch_id: 1, fragment: true } });
    session.handle({ create_request: { key: B("a"), range_end: B("z"), start_revision: 2, progress_notify: false, filters: [], prev_kv: false, watch_id: 2, fragment: false } });
    (session as unknown as { server: EtcdServer }).server.watchable.syncWatchers();
    put(["a", big], ["b", big], ["c", big], ["d", big]); // 4, synced path
    assert.deepEqual(
      got.filter((r) => r.watch_id === 1).map(brief),
      [
        { id: 1, rev: 3, created: true, events: 0 },
        { id: 1, rev: 3, fragment: true, events: 2 },
        { id: 1, rev: 3, fragment: true, events: 2 },
        { id: 1, rev: 3, events: 1 },
        { id: 1, rev: 4, fragment: true, events: 2 },
        { id: 1, rev: 4, events: 2 },
      ],
    );
    assert.deepEqual(
      got.filter((r) => r.watch_id === 2).map(brief),
      [
        { id: 2, rev: 3, created: true, events: 0 },
        { id: 2, rev: 3, events: 5 },
        { id: 2, rev: 4, events: 4 },
      ],
    );
  });

  it("a progress request waits until every watcher of the stream caught up: the notification never overtakes owed events", () => {
    const { session, got, put } = setup();
    put(["k", "1"]);
    put(["k", "2"]);
    const ws = (session as unknown as { stream: { ws: WatchableStore } }).stream.ws;
    session.handle({ create_request: { key: B("k"), range_end: Buffer.alloc(0), start_revision: 1, progress_notify: false, filters: [], prev_kv: false, watch_id: 0, fragment: false } });
    session.handle({ progress_request: {} });
    session.handle({ progress_request: {} }); // one answer for requests made while waiting
    assert.deepEqual(got.map(brief), [{ id: 0, rev: 3, created: true, events: 0 }]);
    ws.syncWatchers();
    assert.deepEqual(got.map(brief), [
      { id: 0, rev: 3, created: true, events: 0 },
      { id: 0, rev: 3, events: 2 },
      { id: -1, rev: 3, events: 0 },
    ]);
    // in sync: answered at once
    session.handle({ progress_request: {} });
    assert.deepEqual(got.map(brief).at(-1), { id: -1, rev: 3, events: 0 });
    assert.equal(got.length, 4);
  });

  it("a progress request after a commit whose events are not delivered yet answers after them", () => {
    const { t, session, got } = setup({ deferFanOutAbove: 0 });
    session.handle({ create_request: { key: B("k"), range_end: Buffer.alloc(0), start_revision: 0, progress_notify: false, filters: [], prev_kv: false, watch_id: 0, fragment: false } });
    t.store.write(1, (txn) => txn.put(B("k"), B("1"), 0n)); // 2: queued until the tick after the commit
    session.handle({ progress_request: {} });
    assert.deepEqual(got.map(brief), [
      { id: 0, rev: 1, created: true, events: 0 },
      { id: 0, rev: 2, events: 1 },
      { id: -1, rev: 2, events: 0 },
    ]);
  });

  it("a progress request waiting for a watcher is answered when that watcher is canceled", () => {
    const { session, got, put } = setup();
    put(["k", "1"]);
    session.handle({ create_request: { key: B("k"), range_end: Buffer.alloc(0), start_revision: 1, progress_notify: false, filters: [], prev_kv: false, watch_id: 0, fragment: false } });
    session.handle({ progress_request: {} });
    session.handle({ cancel_request: { watch_id: 0 } });
    assert.deepEqual(got.map(brief), [
      { id: 0, rev: 2, created: true, events: 0 },
      { id: 0, rev: 2, canceled: true, events: 0 },
      { id: -1, rev: 2, events: 0 },
    ]);
  });

  it("created comes before the events; cancel answers once; requests after close are ignored", () => {
    const { session, got, put } = setup();
    put(["k", "1"]);
    session.handle({ create_request: { key: B("k"), range_end: Buffer.alloc(0), start_revision: 0, progress_notify: false, filters: [], prev_kv: true, watch_id: 0, fragment: false } });
    put(["k", "2"]);
    session.handle({ cancel_request: { watch_id: 0 } });
    session.handle({ cancel_request: { watch_id: 0 } });
    put(["k", "3"]);
    session.close();
    session.handle({ progress_request: {} });
    assert.deepEqual(got.map(brief), [
      { id: 0, rev: 2, created: true, events: 0 },
      { id: 0, rev: 3, events: 1 },
      { id: 0, rev: 3, canceled: true, events: 0 },
    ]);
    assert.equal(got[1]!.events[0]!.prev_kv!.value.toString(), "1");
  });
});
