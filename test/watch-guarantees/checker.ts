/**
 * A watch-guarantee checker (pure: no I/O). It takes the ground-truth history of a run and the
 * streams every watcher received, and reports where a stream breaks etcd's watch guarantees:
 *
 * - ordered: revisions arrive in increasing order;
 * - exactly once: no event is delivered twice, none is skipped (a gap) between the watcher's start
 *   and the last revision it received (or `expectThrough`);
 * - atomic per revision: all of a revision's matching events arrive in one response (a response
 *   marked `fragment` is merged with the ones that follow it first, as clients do);
 * - correct: each event is the history's event (type, key, value, create/mod revision, version,
 *   prev_kv when asked for);
 * - resumable: a watcher that reconnects at (last received revision + 1) misses nothing. A watcher
 *   canceled because its next revision was compacted restarts at compact_revision (what clients
 *   do); the events it skipped that way are counted as a "compacted gap", not as a violation, but
 *   only if the cancel was legitimate (a real compaction, above the watcher's next revision).
 *
 * Ground truth. With compaction a watch from revision 1 at the end of a run is impossible, so the
 * history is an *archive*: a watch over the whole key space from the first revision, read before
 * every compaction (the harness never compacts past what the archive has received). Since that
 * archive comes from the server under test it is checked too, independently of watch delivery:
 * - every revision from `firstRevision` to `head` is present (every revision of etcd's store holds
 *   at least one event, so a missing revision is detectable);
 * - every acknowledged write is there, at the revision its response header gave, with exactly its
 *   effects (puts with their values; deletes of the keys its prev_kvs named);
 * - every other revision is explained by exactly one write whose outcome is unknown (in flight when
 *   a member died, timed out): such writes may appear or not, but at one revision only, and no put
 *   value (unique per attempt) appears twice;
 * - replaying the archive gives consistent create revisions and versions, and ends in exactly the
 *   key-value state a Range returned at the end (`finalState`).
 *
 * Known etcd behaviour, optionally tolerated (`allowTombstoneLossAtCompactRevision`): etcd up to
 * 3.4.32 / 3.5.14 (and etcd-ts, which copies 3.4's keyIndex.compact) drops a DELETE whose revision
 * is the compaction revision itself, so a watcher restarted at compact_revision never gets it
 * (etcd-io/etcd#18089). With the option such losses are counted, not reported.
 *
 * Keys and range ends are compared as JS strings (code units): use ASCII keys.
 */

export type EventType = "PUT" | "DELETE";

export interface KV {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

export interface WatchEvent {
  type: EventType;
  kv: KV;
  prevKv?: KV;
}

/** One WatchResponse as the client received it. */
export interface WatchResponse {
  headerRevision: number;
  created?: boolean;
  canceled?: boolean;
  /** Non-zero on a cancel because the watcher's next revision was compacted. */
  compactRevision?: number;
  cancelReason?: string;
  fragment?: boolean;
  events: WatchEvent[];
}

/** What a watcher asked for (etcd's WatchCreateRequest). */
export interface WatchSpec {
  key: string;
  /** undefined or "": the single key; "\0": every key >= key; otherwise [key, rangeEnd). */
  rangeEnd?: string;
  /** 0: from the next revision. */
  startRevision: number;
  prevKv?: boolean;
  noPut?: boolean;
  noDelete?: boolean;
}

/** One Watch stream of a watcher on one member, from its create request to its end. */
export interface Attachment {
  member: string;
  /** The create request's start_revision (the resume revision for every attachment but the first). */
  startRevision: number;
  responses: WatchResponse[];
  /** Why it ended ("disconnected", "compacted", "stopped", ...), for the report only. */
  end?: string;
}

/** A logical watcher as a client sees it: its attachments in order (a new one after each disconnect or compaction cancel). */
export interface WatcherRecord {
  name: string;
  spec: WatchSpec;
  attachments: Attachment[];
}

export interface Effect {
  type: EventType;
  key: string;
  /** PUT only. */
  value?: string;
}

/** What a write whose outcome is unknown may have done (one alternative per txn branch). */
export interface Alternative {
  puts: { key: string; value: string }[];
  /** Each a key (rangeEnd undefined), a range [key, rangeEnd), or every key >= key (rangeEnd "\0"): any existing keys in them may be deleted. */
  deletes: { key: string; rangeEnd?: string }[];
}

export interface Write {
  id: string;
  outcome: "ok" | "unknown";
  /** ok: the response header's revision. */
  revision?: number;
  /** ok: exactly what it changed (empty when it changed nothing, e.g. a delete of an absent key). */
  effects?: Effect[];
  /** unknown: what it may have changed. */
  alternatives?: Alternative[];
}

export interface CheckInput {
  /** The archive: a watch over the whole key space from `firstRevision`, never compacted. */
  archive: WatcherRecord;
  /** First revision of the run holding events (2 on a fresh store). Default 2. */
  firstRevision?: number;
  /** The store's revision at the end (every revision firstRevision..head is in the archive). */
  head: number;
  writes: Write[];
  /** Every revision a Compact was requested at (acknowledged or not). */
  compactions: number[];
  /** A Range of the whole key space at the end of the run (optional). */
  finalState?: { revision: number; kvs: KV[] };
  watchers: WatcherRecord[];
  /** Each watcher must have received every matching event up to this revision (e.g. `head`, after letting them catch up). */
  expectThrough?: number;
  /**
   * Tolerate (count separately) DELETE events missing at a revision that was a compaction
   * revision: etcd up to 3.4.32 / 3.5.14 drops a tombstone whose revision equals the compaction
   * revision, so a watch from compact_revision (what a client does after ErrCompacted) misses it
   * (etcd-io/etcd#18089, fixed by #18274). Default false: such a loss is a gap.
   */
  allowTombstoneLossAtCompactRevision?: boolean;
}

export type ViolationKind =
  // watcher streams
  | "out-of-order"
  | "duplicate"
  | "gap"
  | "split-revision"
  | "wrong-content"
  | "before-start"
  | "header-behind"
  | "bad-compaction-cancel"
  | "unexpected-cancel"
  | "events-after-cancel"
  | "bad-resume"
  | "missing-tail"
  // the ground truth itself
  | "history-gap"
  | "history-order"
  | "history-inconsistent"
  | "lost-write"
  | "unexplained-revision"
  | "write-applied-twice"
  | "final-state";

export interface Violation {
  kind: ViolationKind;
  /** The watcher's name (absent for history violations). */
  watcher?: string;
  revision?: number;
  detail: string;
}

export interface CheckStats {
  watchers: number;
  /** Events received by watchers and compared with the history. */
  eventsChecked: number;
  /** History revisions / events. */
  revisions: number;
  historyEvents: number;
  /** Attachments after a disconnect (resumed at last received + 1). */
  resumes: number;
  /** Legitimate compaction cancels (the watcher restarted at compact_revision). */
  compactedGaps: number;
  /** Matching events those cancels skipped (unrecoverable because compacted). */
  compactedEvents: number;
  /** DELETE events at a compaction revision that never arrived, tolerated by `allowTombstoneLossAtCompactRevision`. */
  lostCompactRevisionTombstones: number;
  /** Writes: acknowledged, unknown, unknown that turned out applied. */
  writesOk: number;
  writesUnknown: number;
  writesUnknownApplied: number;
}

export interface Report {
  violations: Violation[];
  stats: CheckStats;
}

// ------------------------------------------------------------------------------------------------

/** The ground truth, revision by revision. */
export class History {
  /** revision -> its events, in the archive's order */
  readonly byRev = new Map<number, WatchEvent[]>();
  /** `${rev}\0${key}` -> the key's KeyValue just before that revision (undefined: absent) */
  private readonly prevs = new Map<string, KV | undefined>();
  constructor(
    readonly first: number,
    readonly head: number,
  ) {}

  events(rev: number): WatchEvent[] {
    return this.byRev.get(rev) ?? [];
  }

  /** The key's KeyValue before revision `rev` (what prev_kv of an event at `rev` must be). */
  prevOf(key: string, rev: number): KV | undefined {
    return this.prevs.get(`${rev}\0${key}`);
  }

  /** @internal */
  setPrev(key: string, rev: number, kv: KV | undefined): void {
    this.prevs.set(`${rev}\0${key}`, kv);
  }
}

export function inRange(spec: { key: string; rangeEnd?: string | undefined }, key: string): boolean {
  const end = spec.rangeEnd;
  if (end === undefined || end === "") return key === spec.key;
  if (end === "\0") return key >= spec.key;
  return key >= spec.key && key < end;
}

function matches(spec: WatchSpec, ev: WatchEvent): boolean {
  if (!inRange(spec, ev.kv.key)) return false;
  if (spec.noPut && ev.type === "PUT") return false;
  if (spec.noDelete && ev.type === "DELETE") return false;
  return true;
}

const showEv = (e: WatchEvent) => (e.type === "PUT" ? `PUT ${e.kv.key}=${e.kv.value}` : `DELETE ${e.kv.key}`);
const showKv = (kv: KV | undefined) => (kv ? `${kv.key}=${kv.value}@${kv.modRevision}` : "none");
const sameKv = (a: KV, b: KV) =>
  a.key === b.key && a.value === b.value && a.modRevision === b.modRevision && a.createRevision === b.createRevision && a.version === b.version;

/** Responses with `fragment` set are merged with the following ones (a client reassembles them). */
function mergeFragments(responses: readonly WatchResponse[]): WatchResponse[] {
  const out: WatchResponse[] = [];
  let pending: WatchResponse | undefined;
  for (const r of responses) {
    if (pending) {
      pending = { ...r, events: [...pending.events, ...r.events], fragment: r.fragment };
    } else pending = r;
    if (!pending.fragment) {
      out.push(pending);
      pending = undefined;
    }
  }
  if (pending) out.push(pending);
  return out;
}

/** Runs of consecutive events with the same mod revision. */
function runs(events: readonly WatchEvent[]): { rev: number; events: WatchEvent[] }[] {
  const out: { rev: number; events: WatchEvent[] }[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (last && last.rev === e.kv.modRevision) last.events.push(e);
    else out.push({ rev: e.kv.modRevision, events: [e] });
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ history

/** Builds the ground truth from the archive and checks it against the writes and the final state. */
export function buildHistory(input: CheckInput): { history: History; violations: Violation[]; writesUnknownApplied: number } {
  const v: Violation[] = [];
  const first = input.firstRevision ?? 2;
  const h = new History(first, input.head);

  // 1. the archive's events, revision by revision
  let last = 0;
  for (const [ai, att] of input.archive.attachments.entries()) {
    if (ai > 0 && att.startRevision !== last + 1 && !(last === 0 && att.startRevision <= first)) {
      v.push({ kind: "history-order", detail: `archive attachment ${ai} on ${att.member} resumed at ${att.startRevision}, not at ${last + 1}` });
    }
    for (const r of mergeFragments(att.responses)) {
      if (r.canceled) v.push({ kind: "history-order", detail: `archive canceled on ${att.member}: ${r.compactRevision ? `compacted at ${r.compactRevision}` : r.cancelReason ?? "?"} (the harness compacted past it?)` });
      for (const run of runs(r.events)) {
        const known = h.byRev.get(run.rev);
        if (known) {
          // the same revision again (a later response, or split by other revisions): keep its new keys, flag it
          v.push({ kind: "history-order", revision: run.rev, detail: `archive: revision ${run.rev} received twice (or in two parts)` });
          for (const e of run.events) if (!known.some((k) => k.kv.key === e.kv.key)) known.push(e);
          continue;
        }
        h.byRev.set(run.rev, [...run.events]);
        if (run.rev < last) v.push({ kind: "history-order", revision: run.rev, detail: `archive: revision ${run.rev} after ${last}` });
        else last = run.rev;
      }
    }
  }
  for (const rev of h.byRev.keys()) {
    if (rev < first || rev > input.head) v.push({ kind: "history-order", revision: rev, detail: `archive has revision ${rev} outside [${first}, ${input.head}]` });
  }
  for (let rev = first; rev <= input.head; rev++) {
    if (!h.byRev.has(rev)) v.push({ kind: "history-gap", revision: rev, detail: `no event at revision ${rev} in the archive (every revision holds at least one)` });
  }

  // 2. replay: create revisions, versions, prev values, final state
  const state = new Map<string, KV>();
  for (let rev = first; rev <= input.head; rev++) {
    const evs = h.byRev.get(rev);
    if (!evs) continue;
    const seen = new Set<string>();
    for (const e of evs) {
      const k = e.kv.key;
      if (seen.has(k)) v.push({ kind: "history-inconsistent", revision: rev, detail: `key ${k} twice at revision ${rev}` });
      seen.add(k);
      const prev = state.get(k);
      h.setPrev(k, rev, prev);
      if (e.kv.modRevision !== rev) v.push({ kind: "history-inconsistent", revision: rev, detail: `${showEv(e)} has mod_revision ${e.kv.modRevision}` });
      if (e.type === "PUT") {
        const want = { key: k, value: e.kv.value, modRevision: rev, createRevision: prev ? prev.createRevision : rev, version: prev ? prev.version + 1 : 1 };
        if (!sameKv(want, e.kv)) {
          v.push({ kind: "history-inconsistent", revision: rev, detail: `${showEv(e)}: create ${e.kv.createRevision} version ${e.kv.version}, expected create ${want.createRevision} version ${want.version}` });
        }
        state.set(k, { ...e.kv });
      } else {
        if (!prev) v.push({ kind: "history-inconsistent", revision: rev, detail: `DELETE ${k} at ${rev} but ${k} did not exist` });
        state.delete(k);
      }
    }
  }
  if (input.finalState) {
    const fs = input.finalState;
    if (fs.revision !== input.head) v.push({ kind: "final-state", detail: `final Range at revision ${fs.revision}, head ${input.head}` });
    const got = new Map(fs.kvs.map((kv) => [kv.key, kv]));
    for (const [k, kv] of state) {
      const g = got.get(k);
      if (!g) v.push({ kind: "final-state", detail: `replaying the archive leaves ${showKv(kv)}; the final Range has no ${k}` });
      else if (!sameKv(g, kv)) v.push({ kind: "final-state", detail: `${k}: archive replay ${JSON.stringify(kv)}, final Range ${JSON.stringify(g)}` });
    }
    for (const [k, g] of got) if (!state.has(k)) v.push({ kind: "final-state", detail: `final Range has ${showKv(g)}; replaying the archive leaves no ${k}` });
  }

  // 3. the writes
  const claimed = new Map<number, string>();
  const putAt = new Map<string, number[]>(); // value -> revisions
  for (const [rev, evs] of h.byRev) {
    for (const e of evs) if (e.type === "PUT") putAt.set(e.kv.value, [...(putAt.get(e.kv.value) ?? []), rev]);
  }
  for (const [val, revs] of putAt) {
    if (revs.length > 1) v.push({ kind: "write-applied-twice", revision: revs[1], detail: `value ${JSON.stringify(val)} put at revisions ${revs.join(", ")} (each write's values are unique)` });
  }
  const effKey = (e: Effect) => (e.type === "PUT" ? `PUT ${e.key}=${e.value ?? ""}` : `DELETE ${e.key}`);
  for (const w of input.writes) {
    if (w.outcome !== "ok" || !w.effects || w.effects.length === 0) continue;
    const rev = w.revision ?? 0;
    const evs = h.byRev.get(rev);
    const want = w.effects.map(effKey).sort();
    const got = (evs ?? []).map((e) => effKey({ type: e.type, key: e.kv.key, value: e.kv.value })).sort();
    if (!evs) v.push({ kind: "lost-write", revision: rev, detail: `acknowledged write ${w.id} at revision ${rev} (${want.join(", ")}) is not in the history` });
    else if (want.join("\n") !== got.join("\n")) {
      v.push({ kind: "lost-write", revision: rev, detail: `acknowledged write ${w.id} at revision ${rev}: wrote ${want.join(", ")}; the history has ${got.join(", ")}` });
    }
    const other = claimed.get(rev);
    if (other !== undefined) v.push({ kind: "lost-write", revision: rev, detail: `acknowledged writes ${other} and ${w.id} both at revision ${rev}` });
    claimed.set(rev, w.id);
  }
  // revisions no acknowledged write explains: one unknown write each
  const unknown = input.writes.filter((w) => w.outcome === "unknown");
  const usedBy = new Map<Write, number>();
  const explains = (alt: Alternative, evs: WatchEvent[]) => {
    const puts = evs.filter((e) => e.type === "PUT").map((e) => `${e.kv.key}=${e.kv.value}`).sort();
    const want = alt.puts.map((p) => `${p.key}=${p.value}`).sort();
    if (puts.join("\n") !== want.join("\n")) return false;
    return evs.filter((e) => e.type === "DELETE").every((e) => alt.deletes.some((d) => inRange(d, e.kv.key)));
  };
  for (let rev = first; rev <= input.head; rev++) {
    const evs = h.byRev.get(rev);
    if (!evs || claimed.has(rev)) continue;
    const cands = unknown.filter((w) => (w.alternatives ?? []).some((a) => explains(a, evs)));
    const free = cands.find((w) => !usedBy.has(w));
    if (free) usedBy.set(free, rev);
    else if (cands.length > 0) {
      v.push({ kind: "write-applied-twice", revision: rev, detail: `revision ${rev} (${evs.map(showEv).join(", ")}) repeats write ${cands[0]!.id}, already at revision ${usedBy.get(cands[0]!)}` });
    } else {
      v.push({ kind: "unexplained-revision", revision: rev, detail: `revision ${rev} (${evs.map(showEv).join(", ")}) matches no acknowledged write and no write in flight` });
    }
  }
  return { history: h, violations: v, writesUnknownApplied: usedBy.size };
}

// ------------------------------------------------------------------------------------------------ watchers

interface WatcherResult {
  violations: Violation[];
  eventsChecked: number;
  resumes: number;
  compactedGaps: number;
  compactedEvents: number;
  lostCompactRevisionTombstones: number;
}

export interface WatcherCheckOptions {
  expectThrough?: number;
  allowTombstoneLossAtCompactRevision?: boolean;
}

/** Checks one watcher's stream against the history. `compactions`: every revision a Compact was requested at. */
export function checkWatcher(h: History, w: WatcherRecord, compactions: readonly number[], opts: WatcherCheckOptions = {}): WatcherResult {
  const res: WatcherResult = { violations: [], eventsChecked: 0, resumes: 0, compactedGaps: 0, compactedEvents: 0, lostCompactRevisionTombstones: 0 };
  const expectThrough = opts.expectThrough;
  const compactionSet = new Set(compactions);
  /** a DELETE at a compaction revision whose loss the options tolerate (etcd-io/etcd#18089) */
  const tolerated = (e: WatchEvent, rev: number) => !!opts.allowTombstoneLossAtCompactRevision && e.type === "DELETE" && compactionSet.has(rev);
  const out = (kind: ViolationKind, revision: number | undefined, detail: string) =>
    res.violations.push({ kind, watcher: w.name, ...(revision !== undefined ? { revision } : {}), detail });
  const spec = w.spec;
  const expected = (rev: number) => h.events(rev).filter((e) => matches(spec, e));
  // revisions holding matching events, ascending (for gap searches)
  const matchRevs: number[] = [];
  for (let rev = h.first; rev <= h.head; rev++) if (expected(rev).length > 0) matchRevs.push(rev);
  const matchingIn = (lo: number, hi: number): number[] => {
    let a = 0;
    let b = matchRevs.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (matchRevs[m]! < lo) a = m + 1;
      else b = m;
    }
    const out: number[] = [];
    for (let i = a; i < matchRevs.length && matchRevs[i]! <= hi; i++) out.push(matchRevs[i]!);
    return out;
  };
  const maxCompaction = compactions.length ? Math.max(...compactions) : 0;

  /** the next revision the watcher must receive; undefined until known (start 0 before its created response) */
  let next: number | undefined;
  /** the highest revision delivered */
  let lastRev = 0;
  /** revision -> the keys delivered at it */
  const delivered = new Map<number, { keys: Set<string> }>();
  /** the previous attachment ended with a compaction cancel (the next one is a restart, not a resume) */
  let compactedCancel = false;

  for (const [ai, att] of w.attachments.entries()) {
    if (ai > 0) {
      if (!compactedCancel) res.resumes++;
      const want = next ?? 0;
      if (att.startRevision !== want) out("bad-resume", att.startRevision, `attachment ${ai} on ${att.member} started at ${att.startRevision}; the next revision to receive was ${want}`);
      // a later resume does not excuse what it skipped (still gaps); an earlier one shows duplicates
      if (att.startRevision > 0 && next === undefined) next = att.startRevision;
    } else if (att.startRevision > 0) next = att.startRevision;
    compactedCancel = false;
    let segStart = att.startRevision;
    let canceled = false;
    let sawCreated = false;
    for (const r of mergeFragments(att.responses)) {
      if (!sawCreated && !r.created && r.events.length > 0) {
        sawCreated = true; // reported once per stream
        out("before-start", r.events[0]!.kv.modRevision, `events on ${att.member} before the stream's created response`);
      }
      if (canceled) {
        if (r.events.length > 0) out("events-after-cancel", r.events[0]!.kv.modRevision, `${r.events.length} event(s) on ${att.member} after the watcher was canceled`);
        continue;
      }
      if (r.created) {
        sawCreated = true;
        if (r.canceled) {
          canceled = true;
          out("unexpected-cancel", undefined, `create refused on ${att.member}: ${r.cancelReason ?? ""}`);
        } else if (att.startRevision === 0 && next === undefined) {
          next = r.headerRevision + 1;
          segStart = next;
        }
        if (r.events.length === 0) continue;
      }
      if (r.canceled) {
        canceled = true;
        const c = r.compactRevision ?? 0;
        if (c === 0) {
          out("unexpected-cancel", undefined, `canceled on ${att.member}: ${r.cancelReason || "(no reason)"}`);
        } else if (next === undefined) {
          out("bad-compaction-cancel", c, `canceled for compaction at ${c} on ${att.member} before its start revision was known`);
        } else if (c <= next) {
          out("bad-compaction-cancel", c, `canceled for compaction at ${c} on ${att.member}, but its next revision ${next} is not compacted`);
        } else if (!compactions.includes(c)) {
          out("bad-compaction-cancel", c, `canceled for compaction at ${c} on ${att.member}, but no Compact asked for ${c} (asked: ${compactions.join(", ")})`);
        } else {
          // legitimate: what lay between is gone; the client restarts at c
          res.compactedGaps++;
          compactedCancel = true;
          for (const rev of matchingIn(next, c - 1)) res.compactedEvents += expected(rev).length;
          next = c;
        }
        if (r.events.length === 0) continue;
        out("events-after-cancel", r.events[0]!.kv.modRevision, `a cancel response on ${att.member} carries events`);
        continue;
      }
      if (r.events.length === 0) continue; // progress
      const top = Math.max(...r.events.map((e) => e.kv.modRevision));
      if (top > r.headerRevision) out("header-behind", top, `response on ${att.member} with header revision ${r.headerRevision} carries an event at ${top}`);
      const inThis = new Set<number>();
      for (const run of runs(r.events)) {
        const rev = run.rev;
        res.eventsChecked += run.events.length;
        if (next === undefined) {
          out("before-start", rev, `events at ${rev} on ${att.member} before the created response`);
          continue;
        }
        if (segStart > 0 && rev < segStart) {
          out("before-start", rev, `event(s) at ${rev} on ${att.member}, a stream started at ${segStart}: ${run.events.map(showEv).join(", ")}`);
          continue;
        }
        const d = delivered.get(rev);
        if (d) {
          if (inThis.has(rev)) {
            out("out-of-order", rev, `revision ${rev} twice in one response on ${att.member}, other revisions between`);
          }
          const fresh: WatchEvent[] = [];
          for (const e of run.events) {
            if (d.keys.has(e.kv.key)) out("duplicate", rev, `${showEv(e)} at ${rev} delivered again on ${att.member}`);
            else {
              if (!inThis.has(rev)) out("split-revision", rev, `${showEv(e)} at ${rev} on ${att.member} came in a later response than the rest of revision ${rev}`);
              d.keys.add(e.kv.key);
              fresh.push(e);
            }
          }
          checkContent(rev, fresh, att.member);
          continue;
        }
        if (rev < lastRev) {
          out("out-of-order", rev, `revision ${rev} on ${att.member} after revision ${lastRev}: ${run.events.map(showEv).join(", ")}`);
          delivered.set(rev, { keys: new Set(run.events.map((e) => e.kv.key)) });
          continue;
        }
        // a new revision: anything matching between `next` and it was skipped
        for (const g of matchingIn(next, rev - 1)) {
          if (delivered.has(g)) continue;
          if (expected(g).every((e) => tolerated(e, g))) {
            res.lostCompactRevisionTombstones += expected(g).length;
            continue;
          }
          out("gap", g, `revision ${g} (${expected(g).map(showEv).join(", ")}) never delivered; the stream on ${att.member} went on with ${rev}`);
        }
        checkContent(rev, run.events, att.member);
        delivered.set(rev, { keys: new Set(run.events.map((e) => e.kv.key)) });
        inThis.add(rev);
        lastRev = rev;
        next = rev + 1;
      }
    }
  }

  // revisions delivered without all their matching events (and not completed by a split)
  for (const [rev, d] of delivered) {
    const missing = expected(rev).filter((e) => !d.keys.has(e.kv.key));
    const excused = missing.filter((e) => tolerated(e, rev));
    res.lostCompactRevisionTombstones += excused.length;
    if (missing.length > excused.length && rev <= h.head) out("wrong-content", rev, `revision ${rev} delivered without ${missing.map(showEv).join(", ")}`);
  }
  if (expectThrough !== undefined && next !== undefined) {
    const tail: number[] = [];
    for (const g of matchingIn(next, expectThrough)) {
      if (expected(g).every((e) => tolerated(e, g))) res.lostCompactRevisionTombstones += expected(g).length;
      else tail.push(g);
    }
    if (tail.length > 0) out("missing-tail", tail[0], `${tail.length} revision(s) from ${tail[0]} to ${tail[tail.length - 1]} (through ${expectThrough}) never arrived; last received ${lastRev}`);
  }
  return res;

  function checkContent(rev: number, evs: WatchEvent[], member: string): void {
    const exp = expected(rev);
    const seen = new Set<string>();
    for (const e of evs) {
      if (seen.has(e.kv.key)) {
        out("duplicate", rev, `${showEv(e)} twice at ${rev} in one response on ${member}`);
        continue;
      }
      seen.add(e.kv.key);
      const x = exp.find((y) => y.kv.key === e.kv.key);
      if (!x) {
        const any = h.events(rev).find((y) => y.kv.key === e.kv.key);
        out("wrong-content", rev, `${showEv(e)} at ${rev} on ${member}: ${any ? `not in the watched range/filters (${showEv(any)})` : rev > h.head ? `beyond the history's head ${h.head}` : "the history has no such event"}`);
        continue;
      }
      if (x.type !== e.type || (e.type === "PUT" ? !sameKv(x.kv, e.kv) : e.kv.key !== x.kv.key || e.kv.modRevision !== rev)) {
        out("wrong-content", rev, `on ${member}: ${showEv(e)} ${JSON.stringify(e.kv)}, the history has ${showEv(x)} ${JSON.stringify(x.kv)}`);
        continue;
      }
      const prev = h.prevOf(e.kv.key, rev);
      if (!spec.prevKv) {
        if (e.prevKv) out("wrong-content", rev, `${showEv(e)} at ${rev} on ${member} carries prev_kv ${showKv(e.prevKv)} that was not asked for`);
      } else if (e.prevKv) {
        if (!prev || !sameKv(prev, e.prevKv)) out("wrong-content", rev, `${showEv(e)} at ${rev} on ${member}: prev_kv ${showKv(e.prevKv)}, the history has ${showKv(prev)}`);
      } else if (prev && maxCompaction < rev) {
        // etcd reads prev_kv at rev-1 when sending; only a compaction past rev-1 excuses its absence
        out("wrong-content", rev, `${showEv(e)} at ${rev} on ${member} without prev_kv (the history has ${showKv(prev)}; nothing compacted at ${rev - 1})`);
      }
    }
  }
}

/** Checks the history, then every watcher against it. */
export function check(input: CheckInput): Report {
  const { history, violations, writesUnknownApplied } = buildHistory(input);
  const stats: CheckStats = {
    watchers: input.watchers.length,
    eventsChecked: 0,
    revisions: history.byRev.size,
    historyEvents: [...history.byRev.values()].reduce((n, e) => n + e.length, 0),
    resumes: 0,
    compactedGaps: 0,
    compactedEvents: 0,
    lostCompactRevisionTombstones: 0,
    writesOk: input.writes.filter((w) => w.outcome === "ok").length,
    writesUnknown: input.writes.filter((w) => w.outcome === "unknown").length,
    writesUnknownApplied,
  };
  for (const w of input.watchers) {
    const r = checkWatcher(history, w, input.compactions, { expectThrough: input.expectThrough, allowTombstoneLossAtCompactRevision: input.allowTombstoneLossAtCompactRevision });
    violations.push(...r.violations);
    stats.eventsChecked += r.eventsChecked;
    stats.resumes += r.resumes;
    stats.compactedGaps += r.compactedGaps;
    stats.compactedEvents += r.compactedEvents;
    stats.lostCompactRevisionTombstones += r.lostCompactRevisionTombstones;
  }
  return { violations, stats };
}

/** One line per violation (the first `max`), for assertion messages. */
export function describeViolations(vs: readonly Violation[], max = 30): string {
  const lines = vs.slice(0, max).map((x) => `${x.kind}${x.watcher ? ` [${x.watcher}]` : ""}${x.revision !== undefined ? ` @${x.revision}` : ""}: ${x.detail}`);
  if (vs.length > max) lines.push(`... and ${vs.length - max} more`);
  return lines.join("\n");
}
