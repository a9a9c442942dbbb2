/**
 * The gRPC watch fan-out's encoder (server/pb/watch-response.ts) is byte-identical to the Watch
 * method's protobufjs serializer: directly over a range of responses, and end to end by running one
 * WatchSession that writes bytes beside one that writes objects over the same store.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { WatchSession, type WireWatchCreateRequest, type WireWatchResponse } from "../../server/etcdserver/requests/watch-session.js";
import {
  EventResponse,
  eventBytes,
  eventResponseSize,
  eventsBytes,
  eventToWire,
  headerBytes,
  serializeWatchResponse,
} from "../../server/pb/watch-response.js";
import { methodSpecs } from "../../server/pb/grpc-services.js";
import { headerToWire } from "../../server/pb/convert.js";
import type { EtcdServer, Header } from "../../server/etcdserver/server.js";
import { EventType, type Event, type KeyValue } from "../../server/pb/kv.js";
import { WatchableStore } from "../../server/watch/index.js";
import { B, NONE, openTempStore } from "../mvcc/helpers.js";

const method = methodSpecs("etcdserverpb", "Watch")["Watch"]!;
/** What the gRPC server runs for every response object written to a Watch stream (the definition it registers). */
const wireSerialize = (v: unknown): Buffer => method.encode(v);

/** What an EventResponse writes, written where the connection would put it (at an offset, between other bytes). */
function bytesOf(r: EventResponse): Buffer {
  const at = 7;
  const buf = Buffer.alloc(at + r.length + 5, 0xee);
  r.writeTo(buf, at);
  assert.ok(buf.subarray(0, at).every((b) => b === 0xee) && buf.subarray(at + r.length).every((b) => b === 0xee), "wrote outside its bytes");
  return buf.subarray(at, at + r.length);
}

const cleanup: Array<() => void> = [];
after(() => {
  for (const f of cleanup.reverse()) f();
});

const kv = (key: string, value: Buffer | string, o: Partial<KeyValue> = {}): KeyValue => ({
  key: B(key),
  value: typeof value === "string" ? B(value) : value,
  createRevision: 2,
  modRevision: 5,
  version: 1,
  lease: 0n,
  ...o,
});
const put = (k: KeyValue, prevKv?: KeyValue): Event => (prevKv ? { type: EventType.Put, kv: k, prevKv } : { type: EventType.Put, kv: k });
const del = (key: string, rev: number, prevKv?: KeyValue): Event => {
  const tomb = { key: B(key), value: NONE, createRevision: 0, modRevision: rev, version: 0, lease: 0n };
  return prevKv ? { type: EventType.Delete, kv: tomb, prevKv } : { type: EventType.Delete, kv: tomb };
};

/** The object WatchSession writes for a store response (and for each fragment). */
function object(h: Header, watchId: number, compactRevision: number, events: readonly Event[], fragment?: boolean): WireWatchResponse {
  const o: WireWatchResponse = {
    header: headerToWire(h),
    watch_id: watchId,
    events: events.map(eventToWire),
    compact_revision: compactRevision,
    canceled: compactRevision !== 0,
  };
  if (fragment !== undefined) o.fragment = fragment;
  return o;
}

describe("watch response encoder", () => {
  const headers: Header[] = [
    { clusterId: 14841639068965178418n, memberId: 10276657743932975437n, revision: 5, raftTerm: 2 },
    { clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0 },
    { clusterId: 1n, memberId: 18446744073709551615n, revision: 2 ** 53 - 1, raftTerm: 300 },
    { clusterId: 127n, memberId: 128n, revision: 128, raftTerm: 16384 },
  ];
  const big = Buffer.alloc(1_000_000, 0x61);
  const prev = kv("foo", "old", { modRevision: 4, version: 2 });
  const eventSets: Array<[string, Event[]]> = [
    ["none (progress, compaction)", []],
    ["one put", [put(kv("foo", "bar"))]],
    ["put with prev_kv", [put(kv("foo", "bar", { version: 3 }), prev)]],
    ["delete", [del("foo", 6)]],
    ["delete with prev_kv", [del("foo", 6, prev)]],
    ["empty key and value", [put(kv("", ""))]],
    ["leases", [put(kv("a", "1", { lease: 7587872638471982n })), put(kv("b", "2", { lease: 1n })), put(kv("c", "3", { lease: 9223372036854775807n }))]],
    ["negative lease", [put(kv("a", "1", { lease: -5n }))]],
    ["large revisions", [put(kv("k", "v", { createRevision: 2 ** 40, modRevision: 2 ** 53 - 1, version: 2 ** 31 }))]],
    ["large value", [put(kv("big", big), kv("big", big.subarray(0, 70_000), { modRevision: 4 }))]],
    ["many events", Array.from({ length: 200 }, (_, i) => (i % 3 === 2 ? del(`k${i}`, 9) : put(kv(`k${i}`, Buffer.alloc(i * 37, i), { modRevision: 9 }), i % 2 ? prev : undefined)))],
  ];
  const ids = [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 53 - 1, -1];
  const compacts = [0, 1, 4, 300, -1];

  it("splices header, watch_id, flags and events into exactly the serializer's bytes", () => {
    let n = 0;
    for (const h of headers)
      for (const [name, events] of eventSets)
        for (const id of ids)
          for (const compact of compacts)
            for (const fragment of [undefined, false, true]) {
              const want = serializeWatchResponse(object(h, id, compact, events, fragment));
              const f = fragment === undefined ? { watchId: id, compactRevision: compact } : { watchId: id, compactRevision: compact, fragment };
              const got = bytesOf(new EventResponse(headerBytes(h), f, eventsBytes(events)));
              assert.ok(got.equals(want), `${name}, watch_id ${id}, compact ${compact}, fragment ${fragment}, header ${h.revision}`);
              assert.equal(eventResponseSize(headerBytes(h), f, eventsBytes(events).length), want.length);
              // the per-event pieces (used for fragments) add up to the same bytes
              assert.ok(bytesOf(new EventResponse(headerBytes(h), f, events.map(eventBytes))).equals(want));
              n++;
            }
    assert.ok(n > 1000);
  });

  it("the Watch method serializes the other responses (created, canceled, progress) as objects", () => {
    const h = headerToWire(headers[0]!);
    const objects: WireWatchResponse[] = [
      { header: h, watch_id: 3, created: true, events: [] },
      { header: h, watch_id: 0, created: true, events: [] },
      { header: h, watch_id: -1, created: true, canceled: true, cancel_reason: "mvcc: watcher range is empty", events: [] },
      { header: h, watch_id: 7, canceled: true, events: [] },
      { header: h, watch_id: -1, events: [] }, // progress request
      object(headers[0]!, 2, 0, eventSets[2]![1], true),
    ];
    for (const o of objects) assert.ok(wireSerialize(o).equals(serializeWatchResponse(o)), JSON.stringify(o).slice(0, 100));
  });

  it("event bytes are encoded once per event and once per shared array", () => {
    const evs = eventSets[6]![1];
    assert.equal(eventsBytes(evs), eventsBytes(evs));
    assert.equal(eventBytes(evs[0]!), eventBytes(evs[0]!));
    assert.equal(eventsBytes([evs[0]!]), eventBytes(evs[0]!));
  });
});

describe("WatchSession: bytes out == objects out", () => {
  function setup(maxRequestBytes: number) {
    const t = openTempStore();
    const ws = new WatchableStore(t.store);
    let term = 3;
    const server = {
      watchable: ws,
      header: (rev?: number) => ({ clusterId: 14841639068965178418n, memberId: 10276657743932975437n, revision: rev ?? t.store.currentRevision(), raftTerm: term }),
    } as unknown as EtcdServer;
    const bytes: Buffer[] = [];
    const objects: WireWatchResponse[] = [];
    let encoded = 0;
    // every response goes through the Watch method's serializer, as on a gRPC stream
    const fast = new WatchSession(server, { write: (r) => bytes.push(wireSerialize(r)), writeEncoded: (r) => {
          encoded++;
          bytes.push(bytesOf(r));
        }, writable: () => true }, { maxRequestBytes, progressNotifyMs: 60_000 });
    const slow = new WatchSession(server, { write: (r) => objects.push(r), writable: () => true }, { maxRequestBytes, progressNotifyMs: 60_000 });
    cleanup.push(
      () => fast.close(),
      () => slow.close(),
      () => ws.close(),
      () => t.destroy(),
    );
    let ci = 0;
    return {
      t,
      ws,
      setTerm: (n: number) => (term = n),
      handle: (r: Parameters<WatchSession["handle"]>[0]) => {
        fast.handle(r);
        slow.handle(r);
      },
      // delivered at once, as the tick after the commit would (the outputs are compared right after)
      write: (f: (txn: Parameters<Parameters<typeof t.store.write>[1]>[0]) => void) => {
        t.store.write(++ci, f);
        ws.deliverQueued();
      },
      compact: (rev: number) => t.store.compact(++ci, rev),
      check: () => {
        assert.equal(bytes.length, objects.length);
        // only created / canceled / progress-request responses went out as objects
        assert.equal(encoded, objects.filter((o) => !o.created && !(o.canceled && o.compact_revision === undefined) && o.watch_id !== -1).length);
        for (let i = 0; i < objects.length; i++) assert.ok(bytes[i]!.equals(serializeWatchResponse(objects[i]!)), `response ${i}: ${JSON.stringify(objects[i]).slice(0, 200)}`);
        return objects;
      },
    };
  }
  const create = (key: string, o: Partial<WireWatchCreateRequest> = {}) => ({
    create_request: { key: B(key), range_end: NONE, start_revision: 0, progress_notify: false, filters: [], prev_kv: false, watch_id: 0, fragment: false, ...o },
  });

  it("events, prev_kv, filters, deletes, multi-event revisions, catch-up, progress, compaction, cancel", () => {
    const s = setup(1.5 * 1024 * 1024);
    s.write((txn) => txn.put(B("k"), B("v0"), 0n)); // 2
    s.handle(create("k"));
    s.handle(create("k", { prev_kv: true }));
    s.handle(create("k", { filters: [0] })); // NOPUT
    s.handle(create("k", { filters: [1], prev_kv: true })); // NODELETE
    s.handle(create("a", { range_end: B("z"), prev_kv: true }));
    s.handle(create("a", { range_end: B("\x00") }));
    s.handle(create("k", { watch_id: 1000 }));
    s.handle(create("k", { start_revision: 1, prev_kv: true })); // catches up from history
    s.handle(create("z", { range_end: B("a") })); // empty range: created + canceled
    s.handle(create("k", { watch_id: 1000 })); // duplicate
    s.write((txn) => txn.put(B("k"), B("v1"), 7587872638471982n)); // 3
    s.write((txn) => {
      txn.put(B("k"), B("v2"), 0n);
      txn.put(B("m"), Buffer.alloc(100_000, 1), 0n);
      txn.put(B("b"), B(""), 0n);
    }); // 4
    s.setTerm(4);
    s.write((txn) => txn.deleteRange(B("k"), NONE)); // 5
    s.write((txn) => txn.deleteRange(B("a"), B("z"))); // 6
    s.handle({ progress_request: {} });
    s.ws.syncWatchers();
    s.handle({ cancel_request: { watch_id: 1 } });
    s.write((txn) => txn.put(B("k"), B("v3"), 0n)); // 7
    s.compact(6);
    s.handle(create("k", { start_revision: 3 })); // compacted: canceled with compact_revision
    s.ws.syncWatchers();
    s.write((txn) => txn.put(B("k"), B("v4"), 0n)); // 8
    const objects = s.check();
    assert.ok(objects.some((o) => o.compact_revision === 6));
    assert.ok(objects.some((o) => o.events.some((e) => e.prev_kv)));
    assert.ok(objects.some((o) => o.events.length === 3));
    assert.ok(objects.filter((o) => o.events.length > 0).length >= 15, `${objects.length} responses`);
  });

  it("fragments", () => {
    const s = setup(1); // threshold: 1 byte + 512 KiB
    const big = Buffer.alloc(200_000, 0x62);
    s.write((txn) => ["a", "b", "c", "d"].forEach((k) => txn.put(B(k), big, 0n))); // 2
    s.write((txn) => txn.put(B("e"), Buffer.alloc(700_000, 0x63), 0n)); // 3
    s.handle(create("a", { range_end: B("z"), start_revision: 2, fragment: true, watch_id: 1 }));
    s.handle(create("a", { range_end: B("z"), start_revision: 2, fragment: false, watch_id: 2 }));
    s.handle(create("a", { range_end: B("z"), fragment: true, prev_kv: true, watch_id: 3 }));
    s.handle(create("a", { range_end: B("z"), fragment: true, watch_id: 0 }));
    s.ws.syncWatchers();
    s.write((txn) => ["a", "b", "c", "d"].forEach((k) => txn.put(B(k), big, 0n))); // 4
    s.write((txn) => ["a", "b"].forEach((k) => txn.put(B(k), B("small"), 0n))); // 5: below the threshold
    const objects = s.check();
    assert.deepEqual(
      objects.filter((o) => o.watch_id === 1 && !o.created).map((o) => [o.header.revision, o.events.length, o.fragment]),
      [
        [3, 2, true],
        [3, 2, true],
        [3, 1, false],
        [4, 2, true],
        [4, 2, false],
        [5, 2, undefined],
      ],
    );
    assert.ok(objects.some((o) => o.watch_id === 3 && o.fragment === true && o.events.some((e) => e.prev_kv)));
  });
});
