/**
 * A simulated linearizable key-value store, for tests: clients issue random ops with random
 * intervals; each op that takes effect does so at a true linearization point inside its interval
 * (ops of unknown outcome: at any point after the call, or never). Outputs are computed by applying
 * the ops in linearization-point order, so every generated history is linearizable by construction.
 */
import type { HistoryEntry, OpKind } from "./types.js";
import { mulberry32 } from "../support/prng.js";
export { mulberry32 } from "../support/prng.js";


export interface SimOptions {
  clients: number;
  /** Total ops across all clients. */
  ops: number;
  keys: string[];
  /** Probability that an op's outcome is unknown (it takes effect with probability 1/2). */
  pUnknown?: number;
  /** Probability that an op fails definitely (no effect). */
  pFailed?: number;
  /** Op mix weights: put, get, delete, cas. */
  mix?: [number, number, number, number];
  /** Max op duration and max think time between a client's ops. */
  maxDuration?: number;
  maxGap?: number;
}

export interface SimResult {
  history: HistoryEntry[];
  /** The state after every effect (including late effects of unknown ops). */
  final: Map<string, string | null>;
}

interface Pending {
  entry: HistoryEntry;
  /** Linearization point, or undefined when the op never takes effect. */
  at: number | undefined;
}

export function simulate(seed: number, o: SimOptions): SimResult {
  const rand = mulberry32(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const pUnknown = o.pUnknown ?? 0;
  const pFailed = o.pFailed ?? 0;
  const mix = o.mix ?? [3, 4, 1, 2];
  const mixTotal = mix.reduce((a, b) => a + b, 0);
  const maxDuration = o.maxDuration ?? 10;
  const maxGap = o.maxGap ?? 3;
  const clock = new Array<number>(o.clients).fill(0);
  // values written by acknowledged ops, per key: what a cas expects (as a client would after reading)
  const written = new Map<string, string[]>(o.keys.map((k) => [k, []]));
  const pending: Pending[] = [];
  let seq = 0;
  for (let i = 0; i < o.ops; i++) {
    const c = int(o.clients);
    const key = pick(o.keys);
    let r = rand() * mixTotal;
    let op: OpKind = "put";
    for (const [j, name] of (["put", "get", "delete", "cas"] as const).entries()) {
      if (r < mix[j]!) {
        op = name;
        break;
      }
      r -= mix[j]!;
    }
    const call = clock[c]! + rand() * maxGap;
    const dur = 0.01 + rand() * maxDuration;
    const ret = call + dur;
    clock[c] = ret;
    const value = `v${seq++}`;
    const prior = written.get(key)!;
    const input =
      op === "put"
        ? { key, value }
        : op === "cas"
          ? { key, expected: prior.length > 0 && rand() < 0.8 ? prior[Math.max(0, prior.length - 1 - int(3))]! : null, value }
          : { key };
    const u = rand();
    const outcome = u < pUnknown ? "unknown" : u < pUnknown + pFailed ? "failed" : "ok";
    if ((op === "put" || op === "cas") && outcome === "ok") prior.push(value);
    const entry = { clientId: c, op, input, call, return: outcome === "unknown" ? undefined : ret, outcome } as HistoryEntry;
    let at: number | undefined = call + rand() * dur;
    if (outcome === "failed") at = undefined;
    if (outcome === "unknown") at = rand() < 0.5 ? undefined : call + rand() * dur * 4;
    pending.push({ entry, at });
  }
  // Apply effects in linearization-point order.
  const state = new Map<string, string | null>(o.keys.map((k) => [k, null]));
  const effective = pending.filter((p) => p.at !== undefined).sort((a, b) => a.at! - b.at!);
  for (const { entry: e } of effective) {
    const cur = state.get(e.input.key) ?? null;
    let output: unknown;
    switch (e.op) {
      case "put":
        state.set(e.input.key, e.input.value);
        break;
      case "get":
        output = cur;
        break;
      case "delete":
        output = cur === null ? 0 : 1;
        state.set(e.input.key, null);
        break;
      case "cas":
        output = cur === e.input.expected;
        if (output) state.set(e.input.key, e.input.value);
        break;
    }
    if (e.outcome === "ok" && e.op !== "put") (e as { output?: unknown }).output = output;
  }
  return { history: pending.map((p) => p.entry), final: state };
}
