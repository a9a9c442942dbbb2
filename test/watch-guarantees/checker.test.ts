/**
 * The watch-guarantee checker on hand-made histories: it accepts correct streams (resumes at last
 * revision + 1, restarts after a compaction cancel, fragments, unknown writes applied or not) and
 * reports each kind of violation: out of order, duplicate, gap, split revision, wrong content,
 * events before the start, bad compaction cancels, bad resumes, a missing tail, and a ground truth
 * that contradicts the acknowledged writes or the final state.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  check,
  describeViolations,
  type Attachment,
  type CheckInput,
  type KV,
  type ViolationKind,
  type WatchEvent,
  type WatchResponse,
  type WatchSpec,
  type WatcherRecord,
  type Write,
} from "./checker.js";

type Op = ["put", string, string] | ["del", string];

/**
 * A consistent history: revision 2 + i holds ops[i]. Returns the archive (one attachment, one
 * response per revision), the acknowledged writes and the final state.
 */
function history(revs: Op[][]): { archive: WatcherRecord; head: number; writes: Write[]; finalState: { revision: number; kvs: KV[] }; events: Map<number, WatchEvent[]> } {
  const state = new Map<string, KV>();
  const events = new Map<number, WatchEvent[]>();
  const writes: Write[] = [];
  revs.forEach((ops, i) => {
    const rev = i + 2;
    const evs: WatchEvent[] = [];
    for (const op of ops) {
      const prev = state.get(op[1]);
      if (op[0] === "put") {
        const kv: KV = { key: op[1], value: op[2], modRevision: rev, createRevision: prev?.createRevision ?? rev, version: (prev?.version ?? 0) + 1 };
        evs.push({ type: "PUT", kv, ...(prev ? { prevKv: prev } : {}) });
        state.set(op[1], kv);
      } else {
        evs.push({ type: "DELETE", kv: { key: op[1], value: "", modRevision: rev, createRevision: 0, version: 0 }, ...(prev ? { prevKv: prev } : {}) });
        state.delete(op[1]);
      }
    }
    events.set(rev, evs);
    writes.push({ id: `w${rev}`, outcome: "ok", revision: rev, effects: ops.map((o) => (o[0] === "put" ? { type: "PUT", key: o[1], value: o[2] } : { type: "DELETE", key: o[1] })) });
  });
  const head = revs.length + 1;
  const archive: WatcherRecord = {
    name: "archive",
    spec: { key: "\0", rangeEnd: "\0", startRevision: 2 },
    attachments: [{ member: "m1", startRevision: 2, responses: [...events].map(([rev, evs]) => ({ headerRevision: rev, events: evs.map(strip) })) }],
  };
  return { archive, head, writes, finalState: { revision: head, kvs: [...state.values()] }, events };
}

/** the event without prev_kv */
const strip = (e: WatchEvent): WatchEvent => ({ type: e.type, kv: e.kv });

// revisions 2..9
const OPS: Op[][] = [
  [["put", "a", "a1"]], // 2
  [["put", "b", "b1"]], // 3
  [["put", "a", "a2"], ["put", "c", "c1"]], // 4: a txn
  [["del", "a"]], // 5
  [["put", "b", "b2"]], // 6
  [["put", "a", "a3"], ["put", "b", "b3"], ["del", "c"]], // 7
  [["put", "c", "c2"]], // 8
  [["put", "a", "a4"]], // 9
];
const H = history(OPS);

/** the history's events at `rev` matching the spec (prev_kv kept only if asked) */
function ev(rev: number, spec: WatchSpec = ALL): WatchEvent[] {
  return H.events
    .get(rev)!
    .filter((e) => inSpec(spec, e.kv.key))
    .map((e) => (spec.prevKv ? e : strip(e)));
}
function inSpec(spec: WatchSpec, key: string): boolean {
  if (spec.rangeEnd === undefined) return key === spec.key;
  if (spec.rangeEnd === "\0") return key >= spec.key;
  return key >= spec.key && key < spec.rangeEnd;
}
const ALL: WatchSpec = { key: "\0", rangeEnd: "\0", startRevision: 2 };
const created = (rev: number): WatchResponse => ({ headerRevision: rev, created: true, events: [] });
const resp = (header: number, ...events: WatchEvent[]): WatchResponse => ({ headerRevision: header, events });
/** one response per matching revision in [from, to] */
function stream(spec: WatchSpec, from: number, to: number): WatchResponse[] {
  const out: WatchResponse[] = [];
  for (let r = from; r <= to; r++) {
    const e = ev(r, spec);
    if (e.length) out.push(resp(r, ...e));
  }
  return out;
}
const att = (member: string, startRevision: number, responses: WatchResponse[]): Attachment => ({ member, startRevision, responses });
const watcher = (name: string, spec: WatchSpec, ...attachments: Attachment[]): WatcherRecord => ({ name, spec, attachments });

function input(watchers: WatcherRecord[], over: Partial<CheckInput> = {}): CheckInput {
  return { archive: H.archive, head: H.head, writes: H.writes, compactions: [], finalState: H.finalState, watchers, ...over };
}

function accepts(i: CheckInput) {
  const r = check(i);
  assert.deepEqual(r.violations, [], describeViolations(r.violations));
  return r.stats;
}
function rejects(i: CheckInput, kind: ViolationKind, revision?: number) {
  const r = check(i);
  const hit = r.violations.filter((v) => v.kind === kind && (revision === undefined || v.revision === revision));
  assert.ok(hit.length > 0, `expected a ${kind}${revision !== undefined ? ` at ${revision}` : ""}; got:\n${describeViolations(r.violations) || "(none)"}`);
  return r.violations;
}

describe("accepts correct streams", () => {
  it("the archive alone is a consistent history", () => {
    const s = accepts(input([]));
    assert.equal(s.revisions, 8);
    assert.equal(s.historyEvents, 11);
  });

  it("whole key space, a prefix, a single key with prev_kv, filters, start 0", () => {
    const single: WatchSpec = { key: "b", startRevision: 2, prevKv: true };
    const range: WatchSpec = { key: "a", rangeEnd: "c", startRevision: 4 };
    const noDel: WatchSpec = { key: "a", rangeEnd: "\0", startRevision: 2, noDelete: true };
    const now: WatchSpec = { key: "a", startRevision: 0 };
    const s = accepts(
      input([
        watcher("all", ALL, att("m1", 2, [created(1), ...stream(ALL, 2, 9)])),
        watcher("b", single, att("m2", 2, [created(1), ...stream(single, 2, 9)])),
        watcher("a-c", range, att("m3", 4, [created(8), resp(9, ...ev(4, range), ...ev(5, range), ...ev(6, range)), ...stream(range, 7, 9)])),
        watcher("nodel", noDel, att("m1", 2, [created(1), ...[2, 3, 4, 6, 7, 8, 9].map((r) => resp(r, ...ev(r, ALL).filter((e) => e.type === "PUT")))])),
        watcher("now", now, att("m2", 0, [created(6), ...stream({ ...now, startRevision: 7 }, 7, 9)])),
      ]),
    );
    assert.equal(s.watchers, 5);
    assert.ok(s.eventsChecked > 20);
  });

  it("a resume at last received + 1 on another member", () => {
    const s = accepts(input([watcher("all", ALL, att("m1", 2, [created(1), ...stream(ALL, 2, 5)]), att("m2", 6, [created(5), ...stream(ALL, 6, 9)]))], { expectThrough: 9 }));
    assert.equal(s.resumes, 1);
  });

  it("a compaction cancel and a restart at compact_revision: a compacted gap, not a violation", () => {
    const s = accepts(
      input(
        [
          watcher(
            "all",
            ALL,
            att("m1", 2, [created(1), ...stream(ALL, 2, 3)]),
            // resumed at 4 after a disconnect, but 6 is compacted by now
            att("m2", 4, [created(8), { headerRevision: 0, canceled: true, compactRevision: 6, events: [] }]),
            att("m2", 6, [created(8), ...stream(ALL, 6, 9)]),
          ),
        ],
        { compactions: [6], expectThrough: 9 },
      ),
    );
    assert.equal(s.resumes, 1);
    assert.equal(s.compactedGaps, 1);
    assert.equal(s.compactedEvents, 3); // revisions 4 (two events) and 5
  });

  it("a DELETE at the compaction revision lost by a restart there: a gap, unless etcd#18089 is tolerated", () => {
    const cancel = (c: number): WatchResponse => ({ headerRevision: 0, canceled: true, compactRevision: c, events: [] });
    // revision 5 is `DELETE a`: compacted at 5, the watcher restarted at 5 never sees it
    const lost5 = watcher("all", ALL, att("m1", 2, [created(1), ...stream(ALL, 2, 3)]), att("m1", 4, [created(8), cancel(5)]), att("m1", 5, [created(8), ...stream(ALL, 6, 9)]));
    rejects(input([lost5], { compactions: [5] }), "gap", 5);
    const s = accepts(input([lost5], { compactions: [5], allowTombstoneLossAtCompactRevision: true, expectThrough: 9 }));
    assert.equal(s.lostCompactRevisionTombstones, 1);
    assert.equal(s.compactedEvents, 2);
    // revision 7 is `PUT a, PUT b, DELETE c`: the puts must still come, the delete may be missing
    const e7 = ev(7);
    const partial = watcher("all", ALL, att("m1", 7, [created(9), resp(9, ...e7.filter((e) => e.type === "PUT")), ...stream(ALL, 8, 9)]));
    rejects(input([partial], { compactions: [7] }), "wrong-content", 7);
    accepts(input([partial], { compactions: [7], allowTombstoneLossAtCompactRevision: true }));
    const none = watcher("all", ALL, att("m1", 7, [created(9), ...stream(ALL, 8, 9)]));
    rejects(input([none], { compactions: [7], allowTombstoneLossAtCompactRevision: true }), "gap", 7);
    // and only at a compaction revision
    rejects(input([partial], { compactions: [6], allowTombstoneLossAtCompactRevision: true }), "wrong-content", 7);
  });

  it("fragments are merged before the one-response-per-revision check", () => {
    const e = ev(7);
    accepts(input([watcher("all", ALL, att("m1", 7, [created(9), { headerRevision: 9, fragment: true, events: e.slice(0, 2) }, resp(9, ...e.slice(2)), ...stream(ALL, 8, 9)]))]));
  });

  it("prev_kv may be missing only where a compaction removed revision - 1", () => {
    const spec: WatchSpec = { key: "b", startRevision: 6, prevKv: true };
    accepts(input([watcher("b", spec, att("m1", 6, [created(5), resp(6, strip(ev(6, spec)[0]!)), ...stream(spec, 7, 9)]))], { compactions: [6] }));
  });

  it("writes in flight may be applied (at one revision) or not", () => {
    const writes: Write[] = H.writes.map((w) =>
      w.revision === 7 ? { id: "txn", outcome: "unknown", alternatives: [{ puts: [{ key: "a", value: "a3" }, { key: "b", value: "b3" }], deletes: [{ key: "c" }] }, { puts: [{ key: "x", value: "else" }], deletes: [] }] } : w,
    );
    writes.push({ id: "never", outcome: "unknown", alternatives: [{ puts: [{ key: "a", value: "never-applied" }], deletes: [] }] });
    const s = accepts(input([], { writes }));
    assert.equal(s.writesUnknown, 2);
    assert.equal(s.writesUnknownApplied, 1);
  });
});

describe("reports violations", () => {
  it("out of order", () => {
    const r = stream(ALL, 2, 9);
    [r[3], r[4]] = [r[4]!, r[3]!];
    rejects(input([watcher("all", ALL, att("m1", 2, [created(1), ...r]))]), "out-of-order", 5);
  });

  it("out of order inside one response", () => {
    rejects(input([watcher("all", ALL, att("m1", 2, [created(9), resp(9, ...ev(2), ...ev(4), ...ev(3)), ...stream(ALL, 5, 9)]))]), "out-of-order", 3);
  });

  it("a duplicate (the same revision delivered twice)", () => {
    const r = stream(ALL, 2, 9);
    r.splice(4, 0, resp(9, ...ev(5)));
    rejects(input([watcher("all", ALL, att("m1", 2, [created(1), ...r]))]), "duplicate", 5);
  });

  it("a duplicate: a resume that repeats the last revision is reported (before-start)", () => {
    rejects(input([watcher("all", ALL, att("m1", 2, [created(1), ...stream(ALL, 2, 5)]), att("m2", 6, [created(9), resp(9, ...ev(5)), ...stream(ALL, 6, 9)]))]), "before-start", 5);
  });

  it("a gap (a revision between the start and the last received one is missing)", () => {
    const r = stream(ALL, 2, 9).filter((x) => x.events[0]!.kv.modRevision !== 6);
    const v = rejects(input([watcher("all", ALL, att("m1", 2, [created(1), ...r]))]), "gap", 6);
    assert.equal(v.length, 1, describeViolations(v));
  });

  it("a gap on a single-key watcher", () => {
    const spec: WatchSpec = { key: "b", startRevision: 2 };
    rejects(input([watcher("b", spec, att("m1", 2, [created(1), resp(3, ...ev(3, spec)), resp(7, ...ev(7, spec))]))]), "gap", 6);
  });

  it("a gap across a resume (resumed later than last + 1 is a bad resume and a gap)", () => {
    const v = rejects(input([watcher("all", ALL, att("m1", 2, [created(1), ...stream(ALL, 2, 5)]), att("m2", 7, [created(9), ...stream(ALL, 7, 9)]))]), "bad-resume", 7);
    assert.ok(v.some((x) => x.kind === "gap" && x.revision === 6), describeViolations(v));
  });

  it("a gap after a compaction restart is not excused by the compaction", () => {
    rejects(
      input(
        [
          watcher(
            "all",
            ALL,
            att("m1", 2, [created(1), ...stream(ALL, 2, 3)]),
            att("m2", 4, [created(8), { headerRevision: 0, canceled: true, compactRevision: 5, events: [] }]),
            att("m2", 5, [created(8), ...stream(ALL, 5, 5), ...stream(ALL, 7, 9)]),
          ),
        ],
        { compactions: [5] },
      ),
      "gap",
      6,
    );
  });

  it("a split revision (one revision's events in two responses)", () => {
    const e = ev(7);
    rejects(input([watcher("all", ALL, att("m1", 7, [created(9), resp(9, ...e.slice(0, 1)), resp(9, ...e.slice(1)), ...stream(ALL, 8, 9)]))]), "split-revision", 7);
  });

  it("a revision delivered without one of its events", () => {
    const e = ev(7);
    rejects(input([watcher("all", ALL, att("m1", 7, [created(9), resp(9, ...e.slice(0, 2)), ...stream(ALL, 8, 9)]))]), "wrong-content", 7);
  });

  it("wrong content: a value differs from the history", () => {
    const r = stream(ALL, 2, 9);
    r[4] = resp(6, { type: "PUT", kv: { ...ev(6)[0]!.kv, value: "b-other" } });
    rejects(input([watcher("all", ALL, att("m1", 2, [created(1), ...r]))]), "wrong-content", 6);
  });

  it("wrong content: a wrong version, a put reported as a delete, an event outside the range", () => {
    const spec: WatchSpec = { key: "a", startRevision: 2 };
    const wrongVersion = resp(4, { type: "PUT", kv: { ...ev(4, spec)[0]!.kv, version: 7 } });
    rejects(input([watcher("a", spec, att("m1", 2, [created(1), resp(2, ...ev(2, spec)), wrongVersion]))]), "wrong-content", 4);
    const asDelete = resp(4, { type: "DELETE", kv: { key: "a", value: "", modRevision: 4, createRevision: 0, version: 0 } });
    rejects(input([watcher("a", spec, att("m1", 2, [created(1), resp(2, ...ev(2, spec)), asDelete]))]), "wrong-content", 4);
    rejects(input([watcher("a", spec, att("m1", 2, [created(1), resp(2, ...ev(2, spec)), resp(3, ...ev(3))]))]), "wrong-content", 3);
  });

  it("wrong content: a wrong prev_kv, a prev_kv missing without compaction, a prev_kv nobody asked for", () => {
    const spec: WatchSpec = { key: "b", startRevision: 6, prevKv: true };
    const e6 = ev(6, spec)[0]!;
    rejects(input([watcher("b", spec, att("m1", 6, [created(5), resp(6, { ...e6, prevKv: { ...e6.prevKv!, value: "zz" } })]))]), "wrong-content", 6);
    rejects(input([watcher("b", spec, att("m1", 6, [created(5), resp(6, strip(e6))]))]), "wrong-content", 6);
    const plain: WatchSpec = { key: "b", startRevision: 6 };
    rejects(input([watcher("b", plain, att("m1", 6, [created(5), resp(6, e6)]))]), "wrong-content", 6);
  });

  it("events before the requested start revision", () => {
    rejects(input([watcher("all", ALL, att("m1", 5, [created(9), ...stream(ALL, 4, 9)]))]), "before-start", 4);
    rejects(input([watcher("now", { key: "a", startRevision: 0 }, att("m1", 0, [created(5), resp(5, ...ev(5, { key: "a", startRevision: 0 }))]))]), "before-start", 5);
    // events before the stream's created response
    rejects(input([watcher("all", ALL, att("m1", 2, [...stream(ALL, 2, 3), created(3), ...stream(ALL, 4, 9)]))]), "before-start", 2);
  });

  it("a header revision behind its events", () => {
    rejects(input([watcher("all", ALL, att("m1", 2, [created(1), resp(2, ...ev(2)), resp(2, ...ev(3)), ...stream(ALL, 4, 9)]))]), "header-behind", 3);
  });

  it("compaction cancels that are not legitimate", () => {
    const cancel = (c: number): WatchResponse => ({ headerRevision: 0, canceled: true, compactRevision: c, events: [] });
    // the watcher's next revision (6) is above the compaction (5): nothing of it was compacted
    rejects(input([watcher("all", ALL, att("m1", 2, [created(1), ...stream(ALL, 2, 5), cancel(5)]), att("m1", 5, []))], { compactions: [5] }), "bad-compaction-cancel", 5);
    // a compaction nobody asked for
    rejects(input([watcher("all", ALL, att("m1", 2, [created(1), ...stream(ALL, 2, 3), cancel(6)]), att("m1", 6, stream(ALL, 6, 9)))], { compactions: [5] }), "bad-compaction-cancel", 6);
  });

  it("an unexpected cancel, and events after a cancel", () => {
    rejects(input([watcher("all", ALL, att("m1", 2, [created(1), ...stream(ALL, 2, 4), { headerRevision: 4, canceled: true, cancelReason: "boom", events: [] }]))]), "unexpected-cancel");
    rejects(
      input([watcher("all", ALL, att("m1", 2, [created(1), ...stream(ALL, 2, 4), { headerRevision: 4, canceled: true, compactRevision: 3, events: [] }, ...stream(ALL, 5, 6)]))], { compactions: [3] }),
      "events-after-cancel",
      5,
    );
  });

  it("a watcher that stops short of expectThrough", () => {
    rejects(input([watcher("all", ALL, att("m1", 2, [created(1), ...stream(ALL, 2, 7)]))], { expectThrough: 9 }), "missing-tail", 8);
    accepts(input([watcher("b", { key: "b", startRevision: 2 }, att("m1", 2, [created(1), ...stream({ key: "b", startRevision: 2 }, 2, 7)]))], { expectThrough: 9 }));
  });
});

describe("checks the ground truth too", () => {
  const withArchive = (responses: WatchResponse[]): WatcherRecord => ({ ...H.archive, attachments: [att("m1", 2, responses)] });
  const archived = () => H.archive.attachments[0]!.responses.map((r) => ({ ...r, events: [...r.events] }));

  it("a revision missing from the archive", () => {
    rejects(input([], { archive: withArchive(archived().filter((r) => r.headerRevision !== 5)) }), "history-gap", 5);
  });

  it("archive revisions out of order or twice", () => {
    const a = archived();
    [a[2], a[3]] = [a[3]!, a[2]!];
    rejects(input([], { archive: withArchive(a) }), "history-order", 4);
    rejects(input([], { archive: withArchive([...archived(), archived()[7]!]) }), "history-order", 9);
  });

  it("versions and create revisions that do not follow from the history", () => {
    const a = archived();
    a[4] = resp(6, { type: "PUT", kv: { ...a[4]!.events[0]!.kv, version: 1, createRevision: 6 } });
    rejects(input([], { archive: withArchive(a) }), "history-inconsistent", 6);
  });

  it("an acknowledged write that is missing or different", () => {
    const writes = [...H.writes, { id: "lost", outcome: "ok" as const, revision: 8, effects: [{ type: "PUT" as const, key: "c", value: "other" }] }];
    rejects(input([], { writes }), "lost-write", 8);
    rejects(input([], { writes: [...H.writes, { id: "late", outcome: "ok", revision: 12, effects: [{ type: "PUT", key: "x", value: "y" }] }] }), "lost-write", 12);
  });

  it("a revision no write explains", () => {
    rejects(input([], { writes: H.writes.filter((w) => w.revision !== 6) }), "unexplained-revision", 6);
  });

  it("a write applied twice", () => {
    const a = archived();
    const e = a[7]!.events[0]!; // a=a4 at 9
    a.push(resp(10, { type: "PUT", kv: { ...e.kv, modRevision: 10, version: e.kv.version + 1 } }));
    const v = rejects(input([], { archive: withArchive(a), head: 10, finalState: undefined }), "write-applied-twice", 10);
    assert.ok(!v.some((x) => x.kind === "history-inconsistent"), describeViolations(v));
  });

  it("an archive that does not replay to the final Range", () => {
    rejects(input([], { finalState: { revision: 9, kvs: H.finalState.kvs.filter((kv) => kv.key !== "b") } }), "final-state");
    rejects(input([], { finalState: { revision: 9, kvs: H.finalState.kvs.map((kv) => (kv.key === "b" ? { ...kv, value: "b9" } : kv)) } }), "final-state");
  });
});
