/**
 * The checker agrees with a brute-force oracle (every order of the ops that respects real time;
 * unknown outcomes may take effect at any point after their call, or never) on thousands of tiny
 * random histories: random outputs, time ties, repeated values, unknown and failed outcomes. This
 * is what vouches for the search's shortcuts (pinned / pooled unknown ops, dominance, windows).
 *
 * Reproduce a failure: LIN_SEED=<seed> LIN_SEEDS=1 node --import tsx --test test/linearizability/oracle.test.ts
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { checkHistory, internals } from "./checker.js";
import { mulberry32, simulate } from "./sim.js";
import type { HistoryEntry } from "./types.js";

const BASE_SEED = Number(process.env.LIN_SEED ?? 7000);
const SEEDS = Number(process.env.LIN_SEEDS ?? 4000);

/** Brute force: depth-first over orders, memoized on (ops done, state per key). */
function oracle(history: HistoryEntry[]): boolean {
  const ops = history.filter((e) => e.outcome !== "failed" && !(e.outcome === "unknown" && e.op === "get"));
  const n = ops.length;
  const ret = ops.map((e) => (e.outcome === "ok" ? e.return! : Infinity));
  const keys = [...new Set(ops.map((e) => e.input.key))];
  const seen = new Set<string>();
  const go = (done: number, state: (string | null)[]): boolean => {
    if (done === (1 << n) - 1) return true;
    const memo = `${done}|${JSON.stringify(state)}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    for (let i = 0; i < n; i++) {
      if (done & (1 << i)) continue;
      // i can go next only if no pending op returned before i was called
      let ok = true;
      for (let j = 0; j < n && ok; j++) if (!(done & (1 << j)) && j !== i && ret[j]! < ops[i]!.call) ok = false;
      if (!ok) continue;
      const e = ops[i]!;
      const k = keys.indexOf(e.input.key);
      const cur = state[k]!;
      const known = e.outcome === "ok";
      const nexts: (string | null)[] = [];
      switch (e.op) {
        case "put":
          nexts.push(e.input.value);
          break;
        case "get":
          if (e.output === cur) nexts.push(cur);
          break;
        case "delete":
          if (!known || e.output === (cur === null ? 0 : 1)) nexts.push(null);
          break;
        case "cas": {
          const hit = cur === e.input.expected;
          if (!known || e.output === hit) nexts.push(hit ? e.input.value : cur);
          break;
        }
      }
      if (!known) nexts.push(cur); // never takes effect
      for (const s of nexts) {
        const st = state.slice();
        st[k] = s;
        if (go(done | (1 << i), st)) return true;
      }
    }
    return false;
  };
  return go(0, keys.map(() => null));
}

/** Random ops with random outputs: mostly not linearizable. */
function randomHistory(rand: () => number): HistoryEntry[] {
  const int = (m: number): number => Math.floor(rand() * m);
  const vals = ["a", "b", "c"];
  const keys = rand() < 0.8 ? ["x"] : ["x", "y"];
  const n = 3 + int(7);
  const h: HistoryEntry[] = [];
  for (let i = 0; i < n; i++) {
    const call = int(8);
    const r = call + int(4); // small grid: plenty of ties
    const u = rand();
    const outcome = u < 0.2 ? "unknown" : u < 0.27 ? "failed" : "ok";
    const key = keys[int(keys.length)]!;
    const base = { clientId: i, call, return: outcome === "unknown" ? undefined : r, outcome } as const;
    const val = vals[int(3)]!;
    const maybe = rand() < 0.3 ? null : vals[int(3)]!;
    switch (int(4)) {
      case 0:
        h.push({ ...base, op: "put", input: { key, value: val } });
        break;
      case 1:
        h.push({ ...base, op: "get", input: { key }, ...(outcome === "ok" ? { output: maybe } : {}) });
        break;
      case 2:
        h.push({ ...base, op: "delete", input: { key }, ...(outcome === "ok" ? { output: int(2) } : {}) });
        break;
      default:
        h.push({ ...base, op: "cas", input: { key, expected: maybe, value: val }, ...(outcome === "ok" ? { output: rand() < 0.5 } : {}) });
    }
  }
  return h;
}

/** A linearizable history from the simulator, with (sometimes) one output changed. */
function nearlyLinearizable(seed: number, rand: () => number): HistoryEntry[] {
  const { history } = simulate(seed, { clients: 2 + Math.floor(rand() * 3), ops: 4 + Math.floor(rand() * 7), keys: ["x"], pUnknown: 0.3, pFailed: 0.1, mix: [3, 3, 2, 3], maxDuration: 6, maxGap: 2 });
  const h = history.map((e) => ({ ...e, call: Math.round(e.call), return: e.return === undefined ? undefined : Math.round(e.return) })) as HistoryEntry[];
  for (const e of h) if (e.return !== undefined && e.return < e.call) e.return = e.call;
  if (rand() < 0.5) {
    const i = Math.floor(rand() * h.length);
    const e = h[i]!;
    if (e.outcome === "ok" && e.op === "get") h[i] = { ...e, output: e.output === null ? h.find((x) => x.op === "put")?.input.value ?? "zz" : null };
    if (e.outcome === "ok" && e.op === "delete") h[i] = { ...e, output: 1 - e.output! };
    if (e.outcome === "ok" && e.op === "cas") h[i] = { ...e, output: !e.output };
  }
  return h;
}

describe("agreement with a brute-force oracle", () => {
  it(`tiny random histories (${SEEDS} seeds from ${BASE_SEED})`, () => {
    const counts = { yes: 0, no: 0 };
    for (let seed = BASE_SEED; seed < BASE_SEED + SEEDS; seed++) {
      const rand = mulberry32(seed);
      const h = seed % 2 ? randomHistory(rand) : nearlyLinearizable(seed, rand);
      const want = oracle(h);
      const got = checkHistory(h);
      const dump = () => `seed ${seed} (rerun: LIN_SEED=${seed} LIN_SEEDS=1)\n${h.map((e, i) => `  #${i} ${JSON.stringify(e)}`).join("\n")}\n${got.ok === false ? got.explanation : ""}`;
      assert.equal(got.ok, want, `checker says ${got.ok}, oracle says ${want}: ${dump()}`);
      if (got.ok === false) {
        assert.ok(got.windowOps.length > 0 && got.windowOps.every((i) => i >= 0 && i < h.length), dump());
        // The window is a violation on its own: the ops it lists, as plain history, fail too (the
        // window only relaxes them: any start state, ops crossing its edges optional).
        assert.equal(oracle(got.windowOps.map((i) => h[i]!)), false, `the window passes the oracle: ${dump()}`);
      }
      // Every window the scan reports as failing proves a violation (whatever the full verdict).
      for (const p of internals.partition(h).parts) {
        for (const size of [2, 3, 4]) {
          const v = internals.windowScan(p, { maxSteps: 1e6, deadline: performance.now() + 5000 }, size);
          assert.ok(!v || !want, `window of ${size} ops from ${v?.start} to ${v?.end} on key ${p.key} fails: ${dump()}`);
        }
      }
      counts[want ? "yes" : "no"]++;
    }
    assert.ok(counts.yes > SEEDS / 5 && counts.no > SEEDS / 5, JSON.stringify(counts));
  });
});

describe("agreement with the plain search (no shortcuts for unknown outcomes)", () => {
  const seeds = Math.max(1, Math.floor(SEEDS / 10));
  it(`medium histories with many unknown outcomes (${seeds} seeds from ${BASE_SEED})`, (t) => {
    const counts = { ok: 0, fail: 0, skipped: 0 };
    for (let seed = BASE_SEED; seed < BASE_SEED + seeds; seed++) {
      const rand = mulberry32(seed ^ 0x5bd1e995);
      const { history } = simulate(seed, {
        clients: 2 + Math.floor(rand() * 4),
        ops: 20 + Math.floor(rand() * 40),
        keys: rand() < 0.7 ? ["x"] : ["x", "y"],
        pUnknown: 0.1 + rand() * 0.25,
        pFailed: 0.05,
        mix: [3, 3, 2, 3],
        maxDuration: 5,
        maxGap: 3,
      });
      const h = history.slice();
      // break it, sometimes: flip one acknowledged output
      if (rand() < 0.6) {
        const i = Math.floor(rand() * h.length);
        const e = h[i]!;
        if (e.outcome === "ok" && e.op === "get") h[i] = { ...e, output: e.output === null ? "v0" : null };
        if (e.outcome === "ok" && e.op === "delete") h[i] = { ...e, output: 1 - e.output! };
        if (e.outcome === "ok" && e.op === "cas") h[i] = { ...e, output: !e.output };
      }
      const plain = internals.checkPlain(h, { maxSteps: 300_000, deadline: performance.now() + 2000 });
      if (plain === "unknown") {
        counts.skipped++;
        continue;
      }
      const got = checkHistory(h);
      assert.equal(got.ok, plain === "ok", `seed ${seed}: checker says ${got.ok}, plain search says ${plain}\n${h.map((e, i) => `  #${i} ${JSON.stringify(e)}`).join("\n")}`);
      counts[plain]++;
    }
    t.diagnostic(JSON.stringify(counts));
    assert.ok(counts.ok > seeds / 10 && counts.fail > seeds / 10 && counts.skipped < seeds / 4, JSON.stringify(counts));
  });
});
