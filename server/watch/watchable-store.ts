/**
 * The watchable store (etcd 3.4's mvcc/watchable_store.go semantics, see README.md beside this file).
 *
 * Watchers live in one of two groups:
 * - synced: caught up with the store; `notify` hands them each committed revision, in order. While
 *   few are synced and nothing is queued, inside the commit: a lone watcher's event does not wait for
 *   the answers. Otherwise in a `process.nextTick` after the commit: the answers of the apply that
 *   committed it leave first, as etcd's put answers while its watch streams' goroutines send. A
 *   revision is never handed over before one queued earlier. A watcher added in between is synced
 *   from the store's current revision on (`minRev`), so it neither misses nor repeats one.
 * - unsynced: behind (a past start revision, a stream that was backed up, a snapshot restore);
 *   a timer catches them up from MvccStore.history() in bounded batches of whole revisions and
 *   moves them to synced once they reach the current revision.
 * `minRev` is always the lowest revision a watcher has not been handed yet: each revision is
 * delivered once, in order, all its matching events in one response.
 */
import type { MvccStore } from "../mvcc/store.js";
import { EventType, type Event } from "../pb/kv.js";
import { AUTO_WATCH_ID, ErrEmptyWatcherRange, ErrWatcherDuplicateID, type WatchRequestSpec, type WatchSink } from "./types.js";
import { Watcher } from "./watcher.js";
import { WatcherGroup } from "./watcher-group.js";
import { SYSTEM_CLOCK, type Clock } from "../util/clock.js";

export { AUTO_WATCH_ID, ErrEmptyWatcherRange, ErrWatcherDuplicateID } from "./types.js";
export type { StoreWatchResponse, WatchRequestSpec, WatchSink } from "./types.js";

export interface WatchableStoreOptions {
  /** How often unsynced watchers are caught up (etcd: 100 ms). */
  readonly syncIntervalMs?: number;
  /** Watchers caught up per pass (etcd: 512). */
  readonly maxWatchersPerSync?: number;
  /** Events read from history per pass (whole revisions; the last revision may overshoot). */
  readonly maxEventsPerSync?: number;
  /** What runs the catch-up timer (the member's clock, ServerEnvironment.clock). Default: the system clock. */
  readonly clock?: Clock;
  /**
   * Above this many synced watchers, a revision is handed to them in the tick after its commit, so the answers of
   * the apply are not held up by the fan-out; at or below it, inside the commit (default 4; 0: always after).
   */
  readonly deferFanOutAbove?: number;
}

const latin1 = (b: Buffer) => b.toString("latin1");

/** A watcher's matching events of one delivery pass, and which of the pass's events they are. */
interface Batch {
  readonly evs: Event[];
  /** Indexes of `evs` in the pass's event list, comma-separated: equal keys, equal batches. */
  key: string;
}

function addToBatch(batches: Map<Watcher, Batch>, w: Watcher, ev: Event, i: number): void {
  const b = batches.get(w);
  if (b) {
    b.evs.push(ev);
    b.key += "," + i;
  } else batches.set(w, { evs: [ev], key: String(i) });
}

/**
 * One delivery pass's output arrays: a watcher gets the array of every other watcher with the same
 * batch and the same filters / prev_kv, and an event without its prev_kv is one object for all.
 */
class SharedOutputs {
  /** by variant (noPut, noDelete, prevKv as bits), then by batch key */
  private readonly arrays: Array<Map<string, readonly Event[]> | undefined> = [];
  private readonly stripped = new Map<Event, Event>();

  get(w: Watcher, b: Batch): readonly Event[] {
    const v = (w.noPut ? 1 : 0) | (w.noDelete ? 2 : 0) | (w.prevKv ? 4 : 0);
    const byKey = (this.arrays[v] ??= new Map());
    let out = byKey.get(b.key);
    if (out === undefined) {
      out = this.filter(w, b.evs);
      byKey.set(b.key, out);
    }
    return out;
  }

  private filter(w: Watcher, evs: Event[]): readonly Event[] {
    if (!w.noPut && !w.noDelete && w.prevKv) return evs;
    const out: Event[] = [];
    for (const ev of evs) {
      if (w.noPut && ev.type === EventType.Put) continue;
      if (w.noDelete && ev.type === EventType.Delete) continue;
      out.push(!w.prevKv && ev.prevKv ? this.strip(ev) : ev);
    }
    return out;
  }

  private strip(ev: Event): Event {
    let s = this.stripped.get(ev);
    if (s === undefined) {
      s = { type: ev.type, kv: ev.kv };
      this.stripped.set(ev, s);
    }
    return s;
  }
}

export class WatchableStore {
  private readonly synced = new WatcherGroup();
  private readonly unsynced = new WatcherGroup();
  private readonly unsubscribe: () => void;
  /** Cancels the pending catch-up pass, if one is scheduled. */
  private timer: (() => void) | undefined;
  private timerDue = Infinity;
  /** The store revision every synced watcher has been handed (through). */
  private notifiedRev: number;
  private closed = false;
  private readonly syncIntervalMs: number;
  private readonly maxWatchersPerSync: number;
  private readonly maxEventsPerSync: number;
  private readonly deferFanOutAbove: number;
  private readonly clock: Clock;

  constructor(
    readonly store: MvccStore,
    opts: WatchableStoreOptions = {},
  ) {
    this.syncIntervalMs = opts.syncIntervalMs ?? 100;
    this.maxWatchersPerSync = opts.maxWatchersPerSync ?? 512;
    this.maxEventsPerSync = opts.maxEventsPerSync ?? 1000;
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.deferFanOutAbove = opts.deferFanOutAbove ?? 4;
    this.notifiedRev = store.currentRevision();
    this.unsubscribe = store.onCommit((events, rev) => this.onCommit(events, rev));
  }

  /** Revisions committed but not yet handed to the synced watchers: events, revision, events, ... */
  private pending: Array<Event[] | number> = [];

  /** The store committed `rev`: hand it over now, or queue it for the tick after. */
  private onCommit(events: Event[], rev: number): void {
    // at once only while nothing is queued: a revision never overtakes an earlier one
    if (this.pending.length === 0 && this.synced.size <= this.deferFanOutAbove) return this.notify(events, rev);
    this.pending.push(events, rev);
    if (this.pending.length === 2) process.nextTick(this.deliverQueued);
  }

  /**
   * Hands every queued revision to the synced watchers now: the tick after a commit, or anything whose output
   * must follow them (a progress response, a snapshot restore). Tests call it to deliver at a chosen point.
   */
  readonly deliverQueued = (): void => {
    const queued = this.pending;
    if (queued.length === 0) return;
    this.pending = [];
    if (this.closed) return;
    for (let i = 0; i < queued.length; i += 2) this.notify(queued[i] as Event[], queued[i + 1] as number);
  };

  newStream(sink: WatchSink): WatchStream {
    if (this.closed) throw new Error("watchable store closed");
    return new WatchStream(this, sink);
  }

  rev(): number {
    return this.store.currentRevision();
  }

  /** Number of watchers (synced, unsynced). */
  counts(): { synced: number; unsynced: number } {
    return { synced: this.synced.size, unsynced: this.unsynced.size };
  }

  /**
   * The store's state was replaced (a snapshot from the leader): every synced watcher has seen up
   * to the old revision; all move to unsynced and catch up from there (or are canceled if it is
   * now compacted).
   */
  restored(): void {
    this.deliverQueued(); // what was committed before the snapshot goes out first
    for (const w of [...this.synced.all]) {
      this.synced.delete(w);
      w.minRev = Math.max(w.minRev, this.notifiedRev + 1);
      this.unsynced.add(w);
    }
    this.notifiedRev = this.store.currentRevision();
    this.scheduleSync(0);
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.timer?.();
    this.timer = undefined;
  }

  // ------------------------------------------------------------ used by WatchStream

  /** @internal */
  addWatcher(w: Watcher): void {
    // a put's event carries the key's previous value only while a watcher wants it
    if (w.prevKv) w.releasePrevKv = this.store.retainPrevKv();
    const cur = this.store.currentRevision();
    if (w.minRev > cur || w.minRev === 0) {
      w.minRev = Math.max(w.minRev, cur + 1);
      this.synced.add(w);
    } else {
      this.unsynced.add(w);
      this.scheduleSync(0);
    }
  }

  /** @internal */
  removeWatcher(w: Watcher): void {
    w.group?.delete(w);
    w.releasePrevKv?.();
    w.releasePrevKv = undefined;
  }

  /** @internal a synced watcher gets an empty response at the current revision (etcd's progress). */
  progress(w: Watcher): void {
    this.deliverQueued(); // the progress revision must not overtake a queued revision's events
    if (w.group !== this.synced || !w.stream.sink.writable()) return;
    w.stream.sink.send({ watchId: w.id, events: [], revision: this.store.currentRevision(), compactRevision: 0 });
  }

  /** @internal whether a watcher still has history to catch up (or waits for its backed-up stream). */
  isUnsynced(w: Watcher): boolean {
    return w.group === this.unsynced;
  }

  /** @internal the stream's consumer caught up: its waiting watchers can be synced soon. */
  streamWritable(): void {
    if (this.unsynced.size > 0) this.scheduleSync(0);
  }

  // ------------------------------------------------------------ synced path

  private notify(events: Event[], rev: number): void {
    this.notifiedRev = rev;
    if (this.synced.size === 0) return;
    if (events.length === 1) return this.notifyOne(events[0]!, rev);
    let batches: Map<Watcher, Batch> | undefined;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      this.synced.forEachWatching(latin1(ev.kv.key), (w) => {
        if (ev.kv.modRevision < w.minRev) return;
        addToBatch((batches ??= new Map()), w, ev, i);
      });
    }
    if (!batches) return;
    const shared = new SharedOutputs();
    let moved = false;
    for (const [w, b] of batches) moved = !this.handOver(w, shared.get(w, b), rev) || moved;
    if (moved) this.scheduleSync(this.syncIntervalMs);
  }

  /**
   * A revision of one event (a put, a single-key delete): each watcher matches it at most once, so there are no
   * batches to build, one batch for all. The fan-out of a put to many watchers is this loop.
   */
  private notifyOne(ev: Event, rev: number): void {
    const matched: Watcher[] = [];
    this.synced.forEachWatching(latin1(ev.kv.key), (w) => {
      if (ev.kv.modRevision >= w.minRev) matched.push(w);
    });
    if (matched.length === 0) return;
    const shared = new SharedOutputs();
    const batch: Batch = { evs: [ev], key: "0" };
    let moved = false;
    for (const w of matched) moved = !this.handOver(w, shared.get(w, batch), rev) || moved;
    if (moved) this.scheduleSync(this.syncIntervalMs);
  }

  /** A synced watcher gets its events of `rev`; false when its consumer is backed up and it moved to unsynced instead. */
  private handOver(w: Watcher, out: readonly Event[], rev: number): boolean {
    if (!w.stream.sink.writable()) {
      // the consumer is backed up: stop pushing; catch up from history once it drains
      this.synced.delete(w);
      w.minRev = rev;
      this.unsynced.add(w);
      return false;
    }
    w.minRev = rev + 1;
    this.deliver(w, out, rev);
    return true;
  }

  /** `out`: the watcher's events, already filtered (SharedOutputs). */
  private deliver(w: Watcher, out: readonly Event[], revision: number): void {
    if (out.length === 0) return; // everything filtered: send nothing
    w.stream.sink.send({ watchId: w.id, events: out, revision, compactRevision: 0 });
  }

  // ------------------------------------------------------------ unsynced path

  private scheduleSync(delayMs: number): void {
    if (this.closed) return;
    const due = this.clock.now() + delayMs;
    if (this.timer && this.timerDue <= due) return;
    this.timer?.();
    this.timerDue = due;
    // the system clock's timers are unref'd: a pending catch-up does not keep a process alive
    this.timer = this.clock.after(delayMs, () => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.runSync();
    });
  }

  private runSync(): void {
    if (this.closed || this.unsynced.size === 0) return;
    const started = this.clock.now();
    const before = this.unsynced.size;
    let left: number;
    try {
      left = this.syncWatchers();
    } catch {
      // the store closed under us, or a history read failed: try again later
      if (this.closed) return;
      left = this.unsynced.size;
    }
    if (left === 0) return;
    // more work: go on soon if this pass made progress, yielding as long as it took (etcd)
    const progressed = left < before || this.lastPassDelivered;
    this.scheduleSync(progressed ? Math.max(1, this.clock.now() - started) : this.syncIntervalMs);
  }

  private lastPassDelivered = false;

  /**
   * One bounded pass (etcd's syncWatchers): up to maxWatchersPerSync unsynced watchers whose
   * stream can take data; those behind the compacted revision are canceled; the others get the
   * events of one history read (whole revisions, up to maxEventsPerSync events). Returns how many
   * watchers are still unsynced.
   */
  syncWatchers(): number {
    const left = new Set<Watcher["stream"]>();
    const n = this.syncPass(left);
    for (const s of left) s.sink.synced?.();
    return n;
  }

  /** `left`: the streams of the watchers that leave the unsynced group in this pass. */
  private syncPass(left: Set<Watcher["stream"]>): number {
    this.lastPassDelivered = false;
    if (this.unsynced.size === 0) return 0;
    const cur = this.store.currentRevision();
    const compactRev = this.store.compactedRevision();
    const chosen: Watcher[] = [];
    for (const w of this.unsynced.all) {
      if (chosen.length >= this.maxWatchersPerSync) break;
      if (w.stream.sink.writable()) chosen.push(w);
    }
    let minRev = Infinity;
    let wantPrev = false;
    const active: Watcher[] = [];
    for (const w of chosen) {
      if (w.minRev > cur) {
        // nothing to read (a future start revision, or restored behind): it is in sync
        this.unsynced.delete(w);
        this.synced.add(w);
        left.add(w.stream);
        continue;
      }
      if (w.minRev < compactRev) {
        this.unsynced.delete(w);
        left.add(w.stream);
        w.compacted = true; // the stream still knows the ID: a later cancel succeeds, as etcd
        w.stream.sink.send({ watchId: w.id, events: [], revision: 0, compactRevision: compactRev });
        this.lastPassDelivered = true;
        continue;
      }
      active.push(w);
      if (w.minRev < minRev) minRev = w.minRev;
      if (w.prevKv) wantPrev = true;
    }
    if (active.length === 0) return this.unsynced.size;

    const evs = this.store.history(minRev, cur, { prevKv: wantPrev, limit: this.maxEventsPerSync });
    // history stops after the revision in which the limit was reached: complete up to `through`
    const truncated = evs.length >= this.maxEventsPerSync;
    const through = truncated ? evs[evs.length - 1]!.kv.modRevision : cur;

    const batches = new Map<Watcher, Batch>();
    const activeSet = new Set(active);
    // the chosen watchers indexed by what they watch (etcd: newWatcherBatch on the chosen group)
    const chosenIndex = new WatcherGroup(false);
    for (const w of active) chosenIndex.add(w);
    for (let i = 0; i < evs.length; i++) {
      const ev = evs[i]!;
      chosenIndex.forEachWatching(latin1(ev.kv.key), (w) => {
        if (ev.kv.modRevision >= w.minRev) addToBatch(batches, w, ev, i);
      });
    }
    const shared = new SharedOutputs();
    for (const w of activeSet) {
      if (w.group !== this.unsynced) continue; // canceled meanwhile
      const b = batches.get(w);
      if (b) {
        if (!w.stream.sink.writable()) continue; // backed up by an earlier send of this pass: next time
        this.deliver(w, shared.get(w, b), cur);
        this.lastPassDelivered = true;
      }
      w.minRev = Math.max(w.minRev, through + 1);
      if (w.minRev > cur) {
        this.unsynced.delete(w);
        this.synced.add(w);
        left.add(w.stream);
      }
    }
    return this.unsynced.size;
  }
}

/** etcd's mvcc.WatchStream: the watchers of one client stream, sharing one sink. */
export class WatchStream {
  private readonly watchers = new Map<number, Watcher>();
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly ws: WatchableStore,
    readonly sink: WatchSink,
  ) {}

  /**
   * Create a watcher; `id` AUTO_WATCH_ID (0) lets the stream choose the lowest free ID at or above
   * its counter (etcd). Throws ErrEmptyWatcherRange (end <= key), ErrWatcherDuplicateID.
   * `beforeRegister` runs once the ID is assigned, before the watcher can receive anything.
   */
  watch(id: number, spec: WatchRequestSpec, beforeRegister?: (id: number) => void): number {
    if (spec.end !== undefined && spec.end.length !== 0 && Buffer.compare(spec.key, spec.end) >= 0) throw new ErrEmptyWatcherRange();
    if (this.closed) throw new ErrEmptyWatcherRange();
    if (id === AUTO_WATCH_ID) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) {
      throw new ErrWatcherDuplicateID();
    }
    const w = new Watcher(
      id,
      this,
      latin1(spec.key),
      spec.end === undefined ? undefined : latin1(spec.end),
      spec.startRev,
      !!spec.noPut,
      !!spec.noDelete,
      !!spec.prevKv,
    );
    this.watchers.set(id, w);
    beforeRegister?.(id);
    this.ws.addWatcher(w);
    return id;
  }

  /** False if there is no such watcher. */
  cancel(id: number): boolean {
    const w = this.watchers.get(id);
    if (!w || this.closed) return false;
    this.ws.removeWatcher(w);
    this.watchers.delete(id);
    return true;
  }

  /** A synced watcher gets an empty response at the current revision. */
  requestProgress(id: number): void {
    const w = this.watchers.get(id);
    if (w) this.ws.progress(w);
  }

  /**
   * No watcher of the stream has history left to catch up. Queued revisions are delivered first, so a progress
   * response written after this cannot overtake their events.
   */
  allSynced(): boolean {
    this.ws.deliverQueued();
    for (const w of this.watchers.values()) if (this.ws.isUnsynced(w)) return false;
    return true;
  }

  /** The sink can take data again. */
  writable(): void {
    this.ws.streamWritable();
  }

  rev(): number {
    return this.ws.rev();
  }

  has(id: number): boolean {
    return this.watchers.has(id);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers.values()) this.ws.removeWatcher(w);
    this.watchers.clear();
  }
}
