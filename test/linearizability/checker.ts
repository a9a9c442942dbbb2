/**
 * Linearizability checker for a key-value register history (put / get / delete / cas).
 *
 * Algorithm: Wing & Gong's search with Lowe's improvements, as in porcupine:
 *  - P-compositionality: a history is linearizable iff each key's sub-history is, so every key is
 *    checked on its own;
 *  - the history is a doubly linked list of call/return events; the search linearizes ("lifts")
 *    call events in order, and backtracks when it reaches the return of an op it has not
 *    linearized yet;
 *  - memoization: a set of (linearized-ops bitset, model state) configurations already explored.
 *
 * Ops of unknown outcome get return = +infinity and an unconstrained output, and may also never
 * take effect. They are what makes the search expensive, so, without changing any verdict:
 *  - an unknown write whose value an acknowledged op read (and no other op wrote) is pinned: it
 *    took effect before that read returned (pin());
 *  - unknown deletes, and unknown writes of values nobody reads or compares against, are pooled:
 *    interchangeable, counted rather than tracked one by one (prepare(), Pool);
 *  - if the whole-key search runs over a first budget, overlapping windows of the key (each from
 *    "any" state) are searched for a local violation before the rest of the budget is spent.
 * A violation is shrunk to a small failing window for the explanation (shrink(), explain()).
 * See README.md for the semantics and how to read an explanation.
 */
import { performance } from "node:perf_hooks";
import type { CheckOptions, CheckResult, History, HistoryEntry } from "./types.js";

// ---------------------------------------------------------------------------------------------
// Normalized records

const PUT = 0;
const GET = 1;
const DEL = 2;
const CAS = 3;
const KIND_NAMES = ["put", "get", "delete", "cas"] as const;

/**
 * Model state ids: 0 = key absent; 1 = "any value" (the unknown state at a window start);
 * 2 = "a value no op reads or compares against" (written by pooled unknown writes, see Pool);
 * >= 3 = interned values.
 */
const ABSENT = 0;
const ANY = 1;
const UNREAD = 2;
const FIRST_VALUE = 3;
/** Output not constrained (op of unknown outcome, or still pending at a prefix cut). */
const UNC = -1;

interface Rec {
  /** Index in the checked history. */
  h: number;
  entry: HistoryEntry;
  kind: number;
  /** put / cas: the value written (state id). */
  value: number;
  /** cas: the expected state id (ABSENT for "key must not exist"). */
  expected: number;
  /** get: state id read; delete: count; cas: 1 / 0; put: UNC. Unknown outcome: UNC. */
  out: number;
  call: number;
  /** +Infinity when the outcome is unknown. */
  ret: number;
  unknown: boolean;
  /**
   * An unknown-outcome put / cas whose value some acknowledged op read, and no other op wrote:
   * it took effect (a cas: succeeded) before that read returned. `ret` is that read's return and
   * `unknown` is false; this is the history index of the read.
   */
  pinnedBy?: number;
}

class Interner {
  private readonly ids = new Map<string, number>();
  readonly values: string[] = [];
  id(v: string | null): number {
    if (v === null) return ABSENT;
    let id = this.ids.get(v);
    if (id === undefined) {
      id = this.values.length + FIRST_VALUE;
      this.ids.set(v, id);
      this.values.push(v);
    }
    return id;
  }
  name(id: number): string {
    if (id === ABSENT) return "<absent>";
    if (id === ANY) return "<any>";
    if (id === UNREAD) return "<a value no op reads>";
    return JSON.stringify(this.values[id - FIRST_VALUE]);
  }
}

class Partition {
  readonly interner = new Interner();
  readonly recs: Rec[] = [];
  /** Definitely failed ops (dropped from the check; kept to explain where a value came from). */
  readonly failed: Rec[] = [];
  private writerCounts: Map<number, number> | undefined;
  constructor(readonly key: string) {}
  /** For each value, how many ops of the key may have written it. */
  writers(): ReadonlyMap<number, number> {
    if (!this.writerCounts) {
      this.writerCounts = new Map();
      for (const r of this.recs) {
        if (r.kind === PUT || (r.kind === CAS && r.out !== 0)) this.writerCounts.set(r.value, (this.writerCounts.get(r.value) ?? 0) + 1);
      }
    }
    return this.writerCounts;
  }
}

function fail(i: number, msg: string): never {
  throw new TypeError(`history[${i}]: ${msg}`);
}

function isValue(v: unknown): v is string {
  return typeof v === "string";
}

/** Validate the history and split it into per-key partitions (in order of first appearance). */
function partition(history: History, pinUnknown = true): { parts: Partition[] } {
  const parts = new Map<string, Partition>();
  history.forEach((e, i) => {
    if (e === null || typeof e !== "object") fail(i, "not an object");
    const input = e.input as { key?: unknown; value?: unknown; expected?: unknown } | undefined;
    if (!input || typeof input.key !== "string") fail(i, "input.key must be a string");
    if (typeof e.call !== "number" || !Number.isFinite(e.call)) fail(i, "call must be a finite number");
    if (e.outcome !== "ok" && e.outcome !== "failed" && e.outcome !== "unknown") fail(i, `bad outcome ${String(e.outcome)}`);
    const key = input.key;
    let p = parts.get(key);
    if (!p) parts.set(key, (p = new Partition(key)));
    const unknown = e.outcome === "unknown";
    const rec: Rec = { h: i, entry: e, kind: 0, value: ABSENT, expected: ABSENT, out: UNC, call: e.call, ret: Infinity, unknown };
    if (e.outcome === "ok") {
      if (typeof e.return !== "number" || !Number.isFinite(e.return)) fail(i, "an ok op needs a finite return time");
      if (e.return < e.call) fail(i, `return ${e.return} is before call ${e.call}`);
      rec.ret = e.return;
    }
    switch (e.op) {
      case "put":
        if (!isValue(input.value)) fail(i, "put input.value must be a string");
        rec.kind = PUT;
        rec.value = p.interner.id(input.value);
        break;
      case "get":
        rec.kind = GET;
        if (e.outcome === "ok") {
          if (e.output !== null && !isValue(e.output)) fail(i, "an ok get needs output: string | null");
          rec.out = p.interner.id(e.output);
        }
        break;
      case "delete":
        rec.kind = DEL;
        if (e.outcome === "ok") {
          if (e.output !== 0 && e.output !== 1) fail(i, "an ok delete needs output 0 or 1 (deleted count)");
          rec.out = e.output;
        }
        break;
      case "cas":
        if (!isValue(input.value)) fail(i, "cas input.value must be a string");
        if (input.expected !== null && !isValue(input.expected)) fail(i, "cas input.expected must be a string or null");
        rec.kind = CAS;
        rec.value = p.interner.id(input.value);
        rec.expected = p.interner.id(input.expected);
        if (e.outcome === "ok") {
          if (typeof e.output !== "boolean") fail(i, "an ok cas needs output: boolean (succeeded)");
          rec.out = e.output ? 1 : 0;
        }
        break;
      default:
        fail(i, `unknown op ${String((e as { op: unknown }).op)}`);
    }
    // A definitely failed op is dropped (kept aside for explanations); so is a read of unknown
    // outcome: it may or may not have happened, and constrains nothing.
    if (e.outcome === "failed") p.failed.push(rec);
    else if (!(unknown && rec.kind === GET)) p.recs.push(rec);
  });
  if (pinUnknown) for (const p of parts.values()) pin(p);
  return { parts: [...parts.values()] };
}

/** Pin unknown-outcome writes whose value was read (see Rec.pinnedBy): the same verdict, cheaper. */
function pin(p: Partition): void {
  const firstRead = new Map<number, Rec>();
  for (const r of p.recs) {
    if (r.unknown) continue;
    const v = r.kind === GET ? r.out : r.kind === CAS && r.out === 1 ? r.expected : -1;
    if (v < FIRST_VALUE) continue;
    const cur = firstRead.get(v);
    if (!cur || r.ret < cur.ret) firstRead.set(v, r);
  }
  const writers = p.writers();
  for (const r of p.recs) {
    if (!r.unknown || (r.kind !== PUT && r.kind !== CAS) || writers.get(r.value) !== 1) continue;
    const reader = firstRead.get(r.value);
    if (!reader || reader.ret < r.call) continue; // a read before the write was called: ghostRead reports it
    r.unknown = false;
    r.ret = reader.ret;
    r.out = r.kind === CAS ? 1 : UNC;
    r.pinnedBy = reader.h;
  }
}

// ---------------------------------------------------------------------------------------------
// The search

interface SOp {
  /** Index into Partition.recs. */
  id: number;
  kind: number;
  value: number;
  expected: number;
  out: number;
  call: number;
  ret: number;
  /** May be skipped: never takes effect (unknown / pending ops), or took effect before the window. */
  optional: boolean;
}

interface Budget {
  maxSteps: number;
  deadline: number;
}

interface Trace {
  /** The longest partial linearization found: rec ids and the state after each. */
  path: { id: number; state: number }[];
  /** The op whose return the search could not get past at that point (rec id), and the state. */
  stuck: number;
  stuckState: number;
}

interface SearchResult {
  verdict: "ok" | "fail" | "unknown";
  steps: number;
  reason?: string;
  trace?: Trace;
}

/** Successor states of `state` when `op` is linearized now; returns how many were written to buf. */
function successors(state: number, op: SOp, buf: Int32Array): number {
  let n = 0;
  switch (op.kind) {
    case PUT:
      buf[n++] = op.value;
      break;
    case GET:
      if (op.out === UNC) buf[n++] = state;
      else if (state === ANY || state === op.out) buf[n++] = op.out;
      break;
    case DEL:
      if (op.out === UNC || state === ANY || (state === ABSENT) === (op.out === 0)) buf[n++] = ABSENT;
      break;
    case CAS:
      if (op.out === UNC) {
        if (state === ANY) {
          buf[n++] = op.value;
          buf[n++] = ANY;
        } else buf[n++] = state === op.expected ? op.value : state;
      } else if (op.out === 1) {
        if (state === ANY || state === op.expected) buf[n++] = op.value;
      } else if (state === ANY || state !== op.expected) {
        buf[n++] = state; // over-approximation for ANY: "anything but expected"
      }
      break;
  }
  if (op.optional) {
    let dup = false;
    for (let i = 0; i < n; i++) if (buf[i] === state) dup = true;
    if (!dup) buf[n++] = state; // skip: no effect
  }
  return n;
}

/**
 * Interchangeable unknown-outcome ops, tracked by how many have taken effect instead of which:
 *  - DEL: unknown deletes (-> absent);
 *  - PUT: unknown puts of a value no op reads or compares against (-> UNREAD);
 *  - CAS with expected e: unknown cas of such a value (-> UNREAD, when the state is e).
 * An unconsumed member available now stays available for ever (return = +inf), so which member
 * is consumed does not matter: they are consumed in call order.
 */
interface Pool {
  kind: number;
  expected: number;
  /** Members' call times, ascending, and their rec ids (same order). */
  calls: number[];
  ids: number[];
}

/** State after a member of `pool` takes effect in `state`, or -1 if it cannot change it. */
function poolStep(pool: Pool, state: number): number {
  if (state === ANY) return -1; // "any" already allows everything absent / UNREAD would
  if (pool.kind === DEL) return state === ABSENT ? -1 : ABSENT;
  if (state === UNREAD) return -1;
  return pool.kind === PUT || state === pool.expected ? UNREAD : -1;
}

/**
 * Reduce the cost of pending (unknown-outcome) ops without changing the verdict:
 *  - a pending put / cas whose value some mandatory op reads (get, successful cas compare) and no
 *    other op of the key may write must have taken effect before the first such read returned: it
 *    becomes a mandatory op returning then (a cas: succeeded). In a window starting from "any"
 *    state this holds too: had it taken effect before the window, it can be placed first in it;
 *  - pending deletes, and pending puts / cas of a value no op reads or compares against, go to
 *    pools (see Pool).
 * Everything else is searched as is: an optional op with return = +inf.
 */
function prepare(view: SOp[], p: Partition): { ops: SOp[]; pools: Pool[] } {
  const writers = p.writers();
  // the op itself must be that one writer (a cas that failed its compare wrote nothing)
  const soleWriter = (o: SOp): boolean => writers.get(o.value) === 1 && (o.kind === PUT || p.recs[o.id]!.out !== 0);
  const readBy = new Map<number, number>(); // value -> earliest return of a mandatory reader
  const mentioned = new Set<number>(); // values some op reads or compares against
  for (const o of view) {
    const seen = o.kind === GET ? o.out : o.kind === CAS ? o.expected : -1;
    if (seen >= FIRST_VALUE) {
      mentioned.add(seen);
      const reads = o.kind === GET || o.out === 1;
      if (reads && !o.optional && Number.isFinite(o.ret)) readBy.set(seen, Math.min(readBy.get(seen) ?? Infinity, o.ret));
    }
  }
  const ops: SOp[] = [];
  const del: Pool = { kind: DEL, expected: ABSENT, calls: [], ids: [] };
  const put: Pool = { kind: PUT, expected: ABSENT, calls: [], ids: [] };
  const cas = new Map<number, Pool>();
  const add = (pool: Pool, o: SOp): void => {
    pool.calls.push(o.call);
    pool.ids.push(o.id);
  };
  for (const o of view) {
    if (o.ret !== Infinity) {
      ops.push(o);
    } else if (o.kind === DEL) {
      add(del, o);
    } else if (o.kind === PUT && !mentioned.has(o.value)) {
      add(put, o);
    } else if (o.kind === CAS && !mentioned.has(o.value)) {
      let pool = cas.get(o.expected);
      if (!pool) cas.set(o.expected, (pool = { kind: CAS, expected: o.expected, calls: [], ids: [] }));
      add(pool, o);
    } else if ((o.kind === PUT || o.kind === CAS) && soleWriter(o) && readBy.has(o.value)) {
      ops.push({ ...o, ret: readBy.get(o.value)!, optional: false, out: o.kind === CAS ? 1 : UNC });
    } else {
      ops.push(o);
    }
  }
  // Order matters for the search: the least flexible first (see `dominates` in search()).
  const pools = [...cas.values(), del, put].filter((pool) => pool.ids.length > 0);
  for (const pool of pools) {
    const idx = pool.calls.map((_, i) => i).sort((a, b) => pool.calls[a]! - pool.calls[b]! || pool.ids[a]! - pool.ids[b]!);
    pool.calls = idx.map((i) => pool.calls[i]!);
    pool.ids = idx.map((i) => pool.ids[i]!);
  }
  return { ops, pools };
}

function search(input: SOp[], pools: Pool[], init: number, budget: Budget, wantTrace: boolean): SearchResult {
  const n = input.length;
  if (n === 0) return { verdict: "ok", steps: 0 };
  // Op index k = rank in call order (the bitset window [lo, hi) relies on it).
  const ops = input.slice().sort((a, b) => a.call - b.call || a.id - b.id);
  const evOp = new Int32Array(2 * n);
  const evCall = new Uint8Array(2 * n);
  const evTime = new Float64Array(2 * n);
  const order: number[] = new Array(2 * n);
  for (let k = 0; k < n; k++) {
    evOp[2 * k] = k;
    evCall[2 * k] = 1;
    evTime[2 * k] = ops[k]!.call;
    evOp[2 * k + 1] = k;
    evCall[2 * k + 1] = 0;
    evTime[2 * k + 1] = ops[k]!.ret;
    order[2 * k] = 2 * k;
    order[2 * k + 1] = 2 * k + 1;
  }
  // By time; on a tie calls come first (touching intervals count as concurrent); then call order.
  order.sort((x, y) => {
    const tx = evTime[x]!;
    const ty = evTime[y]!;
    if (tx !== ty) return tx < ty ? -1 : 1;
    if (evCall[x] !== evCall[y]) return evCall[x] ? -1 : 1;
    return evOp[x]! - evOp[y]!;
  });
  const N = 2 * n;
  const HEAD = N;
  const next = new Int32Array(N + 1);
  const prev = new Int32Array(N + 1);
  const nodeOp = new Int32Array(N);
  const nodeCall = new Uint8Array(N);
  const nodeTime = new Float64Array(N);
  const match = new Int32Array(N);
  const callNode = new Int32Array(n);
  for (let i = 0; i < N; i++) {
    const ev = order[i]!;
    nodeOp[i] = evOp[ev]!;
    nodeCall[i] = evCall[ev]!;
    nodeTime[i] = evTime[ev]!;
    if (nodeCall[i]) callNode[nodeOp[i]!] = i;
    else match[callNode[nodeOp[i]!]!] = i;
    next[i] = i + 1 < N ? i + 1 : -1;
    prev[i] = i === 0 ? HEAD : i - 1;
  }
  next[HEAD] = 0;
  prev[HEAD] = -1;

  const lift = (c: number): void => {
    const r = match[c]!;
    next[prev[c]!] = next[c]!;
    prev[next[c]!] = prev[c]!;
    next[prev[r]!] = next[r]!;
    if (next[r] !== -1) prev[next[r]!] = prev[r]!;
  };
  const unlift = (c: number): void => {
    const r = match[c]!;
    next[prev[r]!] = r;
    if (next[r] !== -1) prev[next[r]!] = r;
    next[prev[c]!] = c;
    prev[next[c]!] = c;
  };

  // Linearized set: bits by op rank; every op below `lo` is linearized, none at or above `hi`,
  // so (lo, bits[lo, hi)) identifies the set and stays short however long the history is.
  const words = new Uint16Array((n >> 4) + 1);
  let lo = 0;
  let hi = 0;
  const bit = (k: number): boolean => (words[k >> 4]! & (1 << (k & 15))) !== 0;
  const setBit = (k: number): void => {
    words[k >> 4]! |= 1 << (k & 15);
    if (k + 1 > hi) hi = k + 1;
    if (k === lo) while (lo < n && bit(lo)) lo++;
  };
  const clearBit = (k: number): void => {
    words[k >> 4]! &= ~(1 << (k & 15));
    if (k < lo) lo = k;
    if (k + 1 === hi) while (hi > lo && !bit(hi - 1)) hi--;
  };
  const keyOf = (state: number): string => {
    let s = `${state},${lo},`;
    if (hi > lo) {
      const from = lo >> 4;
      const to = ((hi - 1) >> 4) + 1;
      for (let i = from; i < to; i += 4096) s += String.fromCharCode.apply(null, words.subarray(i, Math.min(to, i + 4096)) as unknown as number[]);
    }
    return s;
  };

  // Explored configurations. With pools, a configuration that consumed no fewer members of every
  // pool than an explored one (same linearized set and state) has no more options: skip it too.
  const P = pools.length;
  const used = new Int32Array(P);
  const seen = new Set<string>();
  const seenPools = new Map<string, Int32Array[]>();
  // w (explored) dominates the current `used` if it left at least as many members of every pool,
  // counting a PUT member as able to stand in for any CAS member (UNREAD from any state).
  const putIdx = pools.findIndex((q) => q.kind === PUT);
  const dominates = (w: Int32Array): boolean => {
    let need = 0;
    for (let i = 0; i < P; i++) {
      if (i === putIdx) continue;
      const d = w[i]! - used[i]!;
      if (d > 0) {
        if (pools[i]!.kind !== CAS || putIdx < 0) return false;
        need += d;
      }
    }
    return need === 0 ? putIdx < 0 || w[putIdx]! <= used[putIdx]! : w[putIdx]! + need <= used[putIdx]!;
  };
  const visit = (key: string): boolean => {
    if (P === 0) {
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }
    const list = seenPools.get(key);
    if (list) {
      for (const w of list) if (dominates(w)) return false;
      list.push(used.slice());
    } else seenPools.set(key, [used.slice()]);
    return true;
  };
  /** Members of pool p called at or before time t (calls precede returns on ties). */
  const available = (p: number, t: number): number => {
    const calls = pools[p]!.calls;
    let a = 0;
    let b = calls.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (calls[m]! <= t) a = m + 1;
      else b = m;
    }
    return a;
  };

  // Alternatives for linearizing a list op: its successors from the current state, then, for each
  // pool with a member available, the successors after that member takes effect just before it.
  // Pooled ops only ever take effect right before the next list op, and only when that changes
  // its result: any linearization can be rearranged so (moving a pooled op later is always
  // allowed, and of consecutive pooled ops only the last matters).
  const MAXALT = 3 * (P + 2);
  const altState = new Int32Array(MAXALT);
  const altPool = new Int32Array(MAXALT);
  const altPool2 = new Int32Array(MAXALT);
  const delIdx = pools.findIndex((q) => q.kind === DEL);
  const casAbsentIdx = pools.findIndex((q) => q.kind === CAS && q.expected === ABSENT);
  const firstReturnTime = (from: number): number => {
    let e = from;
    while (e !== -1 && nodeCall[e]) e = next[e]!;
    return e === -1 ? Infinity : nodeTime[e]!;
  };
  /** Whether some pool has an available member that would change the state here. */
  const anyPoolStep = (firstReturn: number): boolean => {
    const tr = nodeTime[firstReturn]!;
    for (let p = 0; p < P; p++) if (poolStep(pools[p]!, state) >= 0 && used[p]! < available(p, tr)) return true;
    return delIdx >= 0 && casAbsentIdx >= 0 && state !== ABSENT && state !== ANY && state !== UNREAD && used[delIdx]! < available(delIdx, tr) && used[casAbsentIdx]! < available(casAbsentIdx, tr);
  };
  const buf2 = new Int32Array(4);
  const alternatives = (op: SOp, at: number, phase: number): number => {
    const n0 = successors(state, op, buf);
    let na = 0;
    if (phase === 0) {
      for (let i = 0; i < n0; i++) {
        altState[na] = buf[i]!;
        altPool2[na] = -1;
        altPool[na++] = -1;
      }
      return na;
    }
    const plain = buf2;
    for (let i = 0; i < n0; i++) plain[i] = buf[i]!;
    let tr = NaN;
    for (let p = 0; p < P; p++) {
      const ps = poolStep(pools[p]!, state);
      if (ps < 0) continue;
      if (Number.isNaN(tr)) tr = firstReturnTime(at);
      if (used[p]! >= available(p, tr)) continue;
      const m = successors(ps, op, buf);
      next: for (let i = 0; i < m; i++) {
        for (let j = 0; j < n0; j++) if (plain[j] === buf[i]) continue next; // same state, fewer used: better
        altState[na] = buf[i]!;
        altPool2[na] = -1;
        altPool[na++] = p;
      }
    }
    // The one useful chain of pooled ops: a delete, then a cas expecting absent.
    if (delIdx >= 0 && casAbsentIdx >= 0 && state !== ABSENT && state !== ANY && state !== UNREAD) {
      if (Number.isNaN(tr)) tr = firstReturnTime(at);
      if (used[delIdx]! < available(delIdx, tr) && used[casAbsentIdx]! < available(casAbsentIdx, tr)) {
        const m = successors(UNREAD, op, buf);
        next2: for (let i = 0; i < m; i++) {
          for (let j = 0; j < n0; j++) if (plain[j] === buf[i]) continue next2;
          altState[na] = buf[i]!;
          altPool2[na] = casAbsentIdx;
          altPool[na++] = delIdx;
        }
      }
    }
    return na;
  };

  // Stack frames: the call node, the state before, the alternative taken, the pool consumed
  // before it (-1: none), the phase. Each configuration is scanned twice: first every list op's
  // own successors, then (phase 1) those needing a pooled op, so that the cheaper configurations
  // (fewer pooled ops used) are reached first and dominate the others in the cache.
  const stackPhase: number[] = [];
  let phase = 0;
  const stackNode: number[] = [];
  const stackState: number[] = [];
  const stackAlt: number[] = [];
  const stackPool: number[] = [];
  const stackPool2: number[] = [];
  const buf = new Int32Array(4);
  let state = init;
  let entry = next[HEAD]!;
  let altStart = 0;
  let steps = 0;
  let best = -1;
  let trace: Trace | undefined;
  const record = (stuckNode: number): void => {
    if (!wantTrace || stackNode.length <= best) return;
    best = stackNode.length;
    const path: Trace["path"] = [];
    const u = new Int32Array(P);
    stackNode.forEach((c, i) => {
      const after = i + 1 < stackState.length ? stackState[i + 1]! : state;
      const p = stackPool[i]!;
      const q = stackPool2[i]!;
      if (p >= 0) path.push({ id: pools[p]!.ids[u[p]!++]!, state: poolStep(pools[p]!, stackState[i]!) });
      if (q >= 0) path.push({ id: pools[q]!.ids[u[q]!++]!, state: UNREAD });
      path.push({ id: ops[nodeOp[c]!]!.id, state: after });
    });
    trace = { path, stuck: ops[nodeOp[stuckNode]!]!.id, stuckState: state };
  };

  while (next[HEAD] !== -1) {
    steps++;
    if (steps > budget.maxSteps) return { verdict: "unknown", steps, reason: `step budget (${budget.maxSteps}) exhausted` };
    if ((steps & 1023) === 0 && performance.now() > budget.deadline) return { verdict: "unknown", steps, reason: "time budget exhausted" };
    if (nodeCall[entry]) {
      const k = nodeOp[entry]!;
      const na = alternatives(ops[k]!, entry, phase);
      let moved = false;
      for (let a = altStart; a < na; a++) {
        const ns = altState[a]!;
        const p = altPool[a]!;
        const q = altPool2[a]!;
        setBit(k);
        if (p >= 0) used[p]!++;
        if (q >= 0) used[q]!++;
        if (visit(keyOf(ns))) {
          stackNode.push(entry);
          stackState.push(state);
          stackAlt.push(a);
          stackPool.push(p);
          stackPool2.push(q);
          stackPhase.push(phase);
          state = ns;
          lift(entry);
          entry = next[HEAD]!;
          phase = 0;
          moved = true;
          break;
        }
        if (p >= 0) used[p]!--;
        if (q >= 0) used[q]!--;
        clearBit(k);
      }
      altStart = 0;
      if (!moved) entry = next[entry]!;
      continue;
    }
    // The return of an op not linearized yet: the scan is over. Scan again letting pooled ops
    // take effect first, if any can.
    if (phase === 0 && P > 0 && anyPoolStep(entry)) {
      phase = 1;
      entry = next[HEAD]!;
      continue;
    }
    // This branch is dead: backtrack.
    record(entry);
    if (stackNode.length === 0) return { verdict: "fail", steps, ...(trace ? { trace } : {}) };
    const c = stackNode.pop()!;
    state = stackState.pop()!;
    altStart = stackAlt.pop()! + 1;
    const p = stackPool.pop()!;
    const q = stackPool2.pop()!;
    phase = stackPhase.pop()!;
    if (p >= 0) used[p]!--;
    if (q >= 0) used[q]!--;
    clearBit(nodeOp[c]!);
    unlift(c);
    entry = c;
  }
  return { verdict: "ok", steps };
}

// ---------------------------------------------------------------------------------------------
// Sub-histories: prefixes, windows, reads removed (used to shrink a violation)

interface View {
  /** Prefix cut: ops called after `end` are left out; ops returning after it are pending. */
  end: number;
  /**
   * Window start: ops that returned before `start` are left out and the state at `start` is "any";
   * ops called before `start` and returning at or after it may already have taken effect (optional).
   * -Infinity: the whole prefix, from the initial state (key absent).
   */
  start: number;
  removed: ReadonlySet<number>;
}

const FULL: View = { end: Infinity, start: -Infinity, removed: new Set() };

function viewOps(p: Partition, v: View): SOp[] {
  const out: SOp[] = [];
  p.recs.forEach((r, id) => {
    if (v.removed.has(id) || r.call > v.end || r.ret < v.start) return;
    const pending = r.unknown || r.ret > v.end;
    if (pending && r.kind === GET) return;
    out.push({
      id,
      kind: r.kind,
      value: r.value,
      expected: r.expected,
      out: pending ? UNC : r.out,
      call: r.call,
      ret: pending ? Infinity : r.ret,
      optional: pending || r.call < v.start,
    });
  });
  return out;
}

function runView(p: Partition, v: View, budget: Budget, wantTrace = false): SearchResult {
  const init = v.start === -Infinity ? ABSENT : ANY;
  const { ops, pools } = prepare(viewOps(p, v), p);
  return search(ops, pools, init, budget, wantTrace);
}

/** A read-like op does not change the state: removing it from a failing history keeps it failing. */
function readLike(r: Rec): boolean {
  return !r.unknown && (r.kind === GET || (r.kind === CAS && r.out === 0) || (r.kind === DEL && r.out === 0));
}

/** Largest index in [from, cands.length) whose start still fails (monotone), or from - 1. */
function latestFailingStart(p: Partition, end: number, removed: ReadonlySet<number>, cands: number[], from: number, budget: Budget): number {
  let lo = from;
  let hi = cands.length - 1;
  let found = from - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (runView(p, { end, start: cands[mid]!, removed }, budget).verdict === "fail") {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * Shrink a failing view to a small failing view. Every step only keeps views proven to fail.
 * `from` is a view known to fail (the whole key, or a window the scan found).
 */
function shrink(p: Partition, budget: Budget, from: View): View {
  const fails = (v: View): boolean => runView(p, v, budget).verdict === "fail";
  // 1. Earliest failing end. Linearizability is prefix-closed, so failing is monotone in `end`.
  const ends = [...new Set(p.recs.filter((r) => !r.unknown && r.ret <= from.end && r.ret >= from.start).map((r) => r.ret))].sort((a, b) => a - b);
  let end = from.end;
  {
    let lo = 0;
    let hi = ends.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (fails({ end: ends[mid]!, start: from.start, removed: from.removed })) {
        end = ends[mid]!;
        hi = mid - 1;
      } else lo = mid + 1;
    }
  }
  // 2. Latest failing start (failing is monotone in `start` too).
  const starts = [...new Set(p.recs.filter((r) => r.call <= end && r.call >= from.start).map((r) => r.call))].sort((a, b) => a - b);
  const removed = new Set<number>(from.removed);
  // starts[0] is from.start when that is finite, and known to fail: search after it
  const si = latestFailingStart(p, end, removed, starts, from.start === -Infinity ? 0 : 1, budget);
  let start = si >= 0 ? starts[si]! : -Infinity;
  // 3. Drop reads the violation does not need, then try moving the start again.
  let tries = 0;
  p.recs.forEach((r, id) => {
    if (tries > 300 || performance.now() > budget.deadline) return;
    if (removed.has(id) || r.call > end || r.ret < start || !readLike(r)) return;
    tries++;
    removed.add(id);
    if (!fails({ end, start, removed })) removed.delete(id);
  });
  if (removed.size > from.removed.size) {
    const si2 = latestFailingStart(p, end, removed, starts, si + 1, budget);
    if (si2 > si) start = starts[si2]!;
  }
  return { end, start, removed };
}

/**
 * Look for a violation in overlapping windows of `size` ops (by call time), each checked from
 * "any" state: a window that fails proves the key fails, and is cheap to search even when the
 * whole key is not. Returns the first failing window.
 */
function windowScan(p: Partition, budget: Budget, size: number): View | undefined {
  const byCall = p.recs.map((_, id) => id).sort((a, b) => p.recs[a]!.call - p.recs[b]!.call || a - b);
  if (byCall.length <= size) return undefined;
  for (let i = 0; i < byCall.length; i += size >> 1) {
    if (performance.now() > budget.deadline) return undefined;
    const ids = byCall.slice(i, i + size);
    const rets = ids.map((id) => p.recs[id]!.ret).filter(Number.isFinite);
    const end = rets.length > 0 ? Math.max(...rets) : Infinity;
    const v: View = { start: i === 0 ? -Infinity : p.recs[ids[0]!]!.call, end, removed: FULL.removed };
    if (runView(p, v, budget).verdict === "fail") return v;
    if (i + size >= byCall.length) break;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Explanations

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

function fmtTime(t: number): string {
  return Number.isFinite(t) ? t.toFixed(3) : "∞";
}

function interval(r: Rec): string {
  return `[${fmtTime(r.call)}, ${r.unknown || r.pinnedBy !== undefined ? "∞)" : `${fmtTime(r.ret)}]`}`;
}

function describeOp(p: Partition, r: Rec): string {
  const k = JSON.stringify(p.key);
  const unknownTail = r.unknown
    ? "  (outcome unknown)"
    : r.pinnedBy !== undefined
      ? `  (outcome unknown; took effect: #${r.pinnedBy} read its value)`
      : "";
  switch (r.kind) {
    case PUT:
      return `put(${k}, ${p.interner.name(r.value)})${unknownTail}`;
    case GET:
      return `get(${k}) -> ${r.out === UNC ? "?" : p.interner.name(r.out)}${unknownTail}`;
    case DEL:
      return `delete(${k}) -> ${r.out === UNC ? "?" : `deleted ${r.out}`}${unknownTail}`;
    default:
      return `cas(${k}, expect ${p.interner.name(r.expected)}, set ${p.interner.name(r.value)}) -> ${
        r.out === UNC ? "?" : r.out ? "succeeded" : "failed"
      }${unknownTail}`;
  }
}

function opLine(p: Partition, r: Rec, note: string): string {
  const client = `client ${String(r.entry.clientId)}`;
  const iv = interval(r);
  const line = `  #${String(r.h).padEnd(6)} ${client.padEnd(12)} ${iv.padEnd(26)} ${describeOp(p, r)}`;
  return note ? `${line}   <- ${note}` : line;
}

/** The value an op observed (and so needs a writer for), if any. */
function observed(r: Rec): number | undefined {
  if (r.unknown) return undefined;
  if (r.kind === GET && r.out >= FIRST_VALUE) return r.out;
  if (r.kind === CAS && r.out === 1 && r.expected >= FIRST_VALUE) return r.expected;
  return undefined;
}

function explain(p: Partition, v: View, budget: Budget, unit: string, totalOps: number): { text: string; windowOps: number[] } {
  const ops = viewOps(p, v);
  const traced = runView(p, v, budget, true);
  const tr = traced.verdict === "fail" ? traced.trace : undefined;
  const all = ops.map((o) => o.id).sort((a, b) => p.recs[a]!.call - p.recs[b]!.call || a - b);
  const inView = new Set(all);
  // Ops of unknown outcome called before the window: listed in one line, not in the table.
  const isBackground = (id: number): boolean => {
    const r = p.recs[id]!;
    return r.call < v.start && (r.unknown || r.ret > v.end);
  };
  const ids = all.filter((id) => !isBackground(id));
  const background = all.filter(isBackground);
  // A pinned op's reader is part of the evidence: list it too.
  const hToId = new Map(p.recs.map((r, id) => [r.h, id] as const));
  const evidence = new Map<number, number>(); // reader id -> pinned op's history index
  for (const id of all) {
    const pinnedBy = p.recs[id]!.pinnedBy;
    const reader = pinnedBy === undefined ? undefined : hToId.get(pinnedBy);
    if (reader !== undefined && !ids.includes(reader)) {
      ids.push(reader);
      evidence.set(reader, p.recs[id]!.h);
    }
  }
  ids.sort((a, b) => p.recs[a]!.call - p.recs[b]!.call || a - b);
  for (const id of evidence.keys()) inView.add(id);
  const recId = new Map(p.recs.map((r, id) => [r, id] as const));
  const lines: string[] = [];
  lines.push(`Linearizability violation on key ${JSON.stringify(p.key)} (${plural(p.recs.length, "op")} on this key, ${totalOps} in the history).`);
  const t0 = Math.min(...ids.map((i) => p.recs[i]!.call));
  const t1 = Math.max(...ids.map((i) => Math.min(p.recs[i]!.ret, v.end)).filter(Number.isFinite), t0);
  lines.push(`Minimal failing window: ${plural(ids.length, "op")}, ${fmtTime(t0)} .. ${fmtTime(t1)} ${unit}.`);
  lines.push(
    v.start === -Infinity
      ? `Starting from the beginning of the history (key ${JSON.stringify(p.key)} absent), no order of these ops that respects`
      : `Starting from ANY value of ${JSON.stringify(p.key)} at ${fmtTime(v.start)} (earlier ops are not needed), no order of these ops that respects`,
  );
  lines.push(`real time (an op that returned before another was called comes first) explains their results:`);
  lines.push(`  ${"op#".padEnd(7)} ${"client".padEnd(12)} ${"[call, return]".padEnd(26)} operation`);
  const stuckId = tr?.stuck;
  for (const id of ids) {
    const r = p.recs[id]!;
    const notes: string[] = [];
    if (id === stuckId) notes.push("cannot be linearized");
    if (evidence.has(id)) notes.push(`shows that #${evidence.get(id)} took effect`);
    if (r.call < v.start) notes.push("began before the window: may have taken effect before it");
    if (!r.unknown && r.ret > v.end) notes.push(`returned after ${fmtTime(v.end)}: treated as possibly not yet applied`);
    lines.push(opLine(p, r, notes.join("; ")));
  }
  const omitted = p.recs.filter((r, id) => !inView.has(id) && r.call <= t1 && r.ret >= t0).length;
  if (omitted > 0) lines.push(`  (${plural(omitted, "other op")} overlapping this window omitted: not needed for the violation)`);
  if (background.length > 0) {
    const shown = background.slice(0, 12).map((id) => `#${p.recs[id]!.h}`);
    lines.push(
      `  (and ${plural(background.length, "op")} of unknown outcome called before the window, allowed to take effect at any time in it: ${shown.join(", ")}${
        background.length > shown.length ? ", ..." : ""
      })`,
    );
  }

  // Where each observed value could have come from.
  const sources: string[] = [];
  const seen = new Set<number>();
  for (const id of ids) {
    const val = observed(p.recs[id]!);
    if (val === undefined || seen.has(val)) continue;
    seen.add(val);
    const writers = p.recs.filter((w) => (w.kind === PUT || w.kind === CAS) && w.value === val && !(w.kind === CAS && w.out === 0));
    const failedWriters = p.failed.filter((w) => (w.kind === PUT || w.kind === CAS) && w.value === val);
    let s = `  ${p.interner.name(val)}: `;
    if (writers.length === 0) s += "never written by any op that may have taken effect";
    else
      s += writers
        .slice(0, 3)
        .map((w) => `written by #${w.h} ${KIND_NAMES[w.kind]} ${interval(w)}${inView.has(recId.get(w)!) ? "" : " (outside the window)"}`)
        .join(", ") + (writers.length > 3 ? `, and ${writers.length - 3} more` : "");
    if (failedWriters.length > 0) s += `; also by definitely failed op(s) ${failedWriters.map((w) => `#${w.h}`).join(", ")} (ignored)`;
    sources.push(s);
  }
  if (sources.length > 0) lines.push("Values observed in the window:", ...sources);

  if (tr) {
    const initName = v.start === -Infinity ? "<absent>" : "<any>";
    lines.push(`One longest partial linearization the search found (from ${initName}):`);
    if (tr.path.length === 0) lines.push("  (none: no op can be linearized first)");
    for (const step of tr.path) {
      const r = p.recs[step.id]!;
      lines.push(`  #${r.h} ${describeOp(p, r)}  => state ${p.interner.name(step.state)}`);
    }
    const sr = p.recs[tr.stuck]!;
    lines.push(
      `  then stuck: #${sr.h} ${describeOp(p, sr)} ${
        !Number.isFinite(sr.ret) ? "is pending" : sr.pinnedBy !== undefined ? `must take effect by ${fmtTime(sr.ret)}` : `returned at ${fmtTime(sr.ret)}`
      } but no order of the remaining ops makes it valid (state ${p.interner.name(tr.stuckState)}).`,
    );
  }
  return { text: lines.join("\n"), windowOps: ids.map((i) => p.recs[i]!.h) };
}

/**
 * Fast path: an op that observed a value (get, successful cas) no op which may have taken effect
 * wrote before the observer returned. O(n), and a one-op explanation instead of a search.
 */
function ghostRead(p: Partition, unit: string, totalOps: number): { text: string; windowOps: number[] } | undefined {
  const firstWrite = new Map<number, Rec>();
  for (const w of p.recs) {
    if (!(w.kind === PUT || (w.kind === CAS && w.out !== 0))) continue;
    const cur = firstWrite.get(w.value);
    if (!cur || w.call < cur.call) firstWrite.set(w.value, w);
  }
  // Observations made by acknowledged ops first; then those inferred for pinned ops.
  const order = [...p.recs.filter((r) => r.pinnedBy === undefined), ...p.recs.filter((r) => r.pinnedBy !== undefined)];
  for (const r of order) {
    const val = observed(r);
    if (val === undefined) continue;
    const w = firstWrite.get(val);
    if (w && w.call <= r.ret) continue;
    const failed = p.failed.filter((f) => (f.kind === PUT || f.kind === CAS) && f.value === val);
    const reader = r.pinnedBy === undefined ? undefined : p.recs.find((x) => x.h === r.pinnedBy);
    const shown = reader ? [r, reader].sort((a, b) => a.call - b.call) : [r];
    const lines = [
      `Linearizability violation on key ${JSON.stringify(p.key)} (${plural(p.recs.length, "op")} on this key, ${totalOps} in the history).`,
      `Minimal failing window: ${plural(shown.length, "op")}, ${fmtTime(Math.min(...shown.map((x) => x.call)))} .. ${fmtTime(Math.max(...shown.map((x) => x.ret)))} ${unit}: ${
        reader ? `#${r.h} took effect (#${reader.h} read its value), so it observed` : "it observed"
      } a value that no op which may have taken effect had written.`,
      ...shown.map((x) => opLine(p, x, x === r ? "cannot be linearized" : `shows that #${r.h} took effect`)),
      `Values observed in the window:`,
      `  ${p.interner.name(val)}: ${
        w
          ? `first written by #${w.h} ${KIND_NAMES[w.kind]} ${interval(w)}, called after this op returned`
          : "never written by any op that may have taken effect"
      }${failed.length > 0 ? `; written by definitely failed op(s) ${failed.map((f) => `#${f.h}`).join(", ")} (ignored)` : ""}`,
    ];
    return { text: lines.join("\n"), windowOps: shown.map((x) => x.h) };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Entry point

const DEFAULTS = { maxStepsPerKey: 5_000_000, timeoutMsPerKey: 20_000, explainTimeoutMs: 10_000, timeUnit: "ms" };

/**
 * Check a recorded history of put / get / delete / cas ops for linearizability.
 * `{ ok: true }` linearizable; `{ ok: false, key, explanation }` a violation on `key` (first found);
 * `{ ok: "unknown", reason }` some key ran out of budget and no violation was found elsewhere.
 */
export function checkHistory(history: History, opts: CheckOptions = {}): CheckResult {
  const o = { ...DEFAULTS, ...opts };
  const { parts } = partition(history);
  const unknown: string[] = [];
  const reasons: string[] = [];
  let steps = 0;
  let ops = 0;
  for (const p of parts) {
    ops += p.recs.length;
    const ghost = ghostRead(p, o.timeUnit, history.length);
    if (ghost) return { ok: false, key: p.key, explanation: ghost.text, windowOps: ghost.windowOps };
    const deadline = performance.now() + o.timeoutMsPerKey;
    // A bounded search first; if the key is expensive (typically many unknown outcomes), look for
    // a local violation in windows, then search the whole key with the rest of the budget.
    const quick = Math.min(o.maxStepsPerKey, 200_000 + 100 * p.recs.length);
    let r = runView(p, FULL, { maxSteps: quick, deadline });
    steps += r.steps;
    let failing: View | undefined = r.verdict === "fail" ? FULL : undefined;
    if (r.verdict === "unknown") {
      failing = windowScan(p, { maxSteps: quick, deadline }, 200);
      if (!failing && o.maxStepsPerKey > quick) {
        r = runView(p, FULL, { maxSteps: o.maxStepsPerKey, deadline });
        steps += r.steps;
        if (r.verdict === "fail") failing = FULL;
      }
    }
    if (failing) {
      const eb = { maxSteps: o.maxStepsPerKey, deadline: performance.now() + o.explainTimeoutMs };
      // Shrinking starts from a failing window if there is one: much cheaper than whole prefixes.
      if (failing === FULL) failing = windowScan(p, { maxSteps: quick, deadline: eb.deadline }, 100) ?? FULL;
      const view = shrink(p, eb, failing);
      const { text, windowOps } = explain(p, view, { ...eb, deadline: Math.max(eb.deadline, performance.now() + 1000) }, o.timeUnit, history.length);
      return { ok: false, key: p.key, explanation: text, windowOps };
    }
    if (r.verdict === "unknown") {
      unknown.push(p.key);
      reasons.push(`key ${JSON.stringify(p.key)} (${p.recs.length} ops): ${r.reason ?? "budget exhausted"} after ${r.steps} steps`);
    }
  }
  if (unknown.length > 0) return { ok: "unknown", reason: `no violation found, but the search gave up on ${reasons.join("; ")}`, keys: unknown };
  return { ok: true, keys: parts.length, ops, steps };
}

/** Exposed for tests and tools: the normalized per-key records of a history. */
/**
 * The plain search, without the shortcuts for unknown outcomes (no pinning, no pools: every
 * unknown op is an optional op with return = +inf, as in porcupine). Exact but exponential in the
 * number of unknown-outcome ops; for cross-checking the shortcuts in tests.
 */
function checkPlain(history: History, budget: Budget): "ok" | "fail" | "unknown" {
  let verdict: "ok" | "fail" | "unknown" = "ok";
  for (const p of partition(history, false).parts) {
    const r = search(viewOps(p, FULL), [], ABSENT, budget, false);
    if (r.verdict === "fail") return "fail";
    if (r.verdict === "unknown") verdict = "unknown";
  }
  return verdict;
}

export const internals = { partition, prepare, search, successors, runView, viewOps, windowScan, shrink, checkPlain, ABSENT, ANY, UNREAD, UNC };
