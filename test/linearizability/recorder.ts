/**
 * HistoryRecorder: what a test client calls around every request it sends.
 *
 *   const t = rec.begin(clientId, "put", { key, value });
 *   try { await client.put(key).value(value); rec.end(t, undefined); }
 *   catch (err) { rec.fail(t, provesNotApplied(err) ? "definite" : "unknown"); }
 *
 * Timestamps come from `performance.now()` (monotonic ms) unless another clock is given. An op
 * still open when `history()` is taken is reported with outcome "unknown".
 */
import { performance } from "node:perf_hooks";
import type { ClientId, HistoryEntry, OpInputs, OpKind, OpOutputs, Outcome } from "./types.js";

/** A handle for one in-flight op; carries its kind so `end` takes the right output type. */
export type Token<O extends OpKind = OpKind> = number & { readonly __op?: O };

type OutputArgs<O extends OpKind> = O extends "put" ? [output?: unknown] : [output: OpOutputs[O]];

interface Slot {
  clientId: ClientId;
  op: OpKind;
  input: OpInputs[OpKind];
  call: number;
  return: number | undefined;
  output?: unknown;
  outcome: Outcome | "open";
}

export class HistoryRecorder {
  private readonly slots: Slot[] = [];
  private open = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Record the invocation of an op; call it immediately before sending the request. */
  begin<O extends OpKind>(clientId: ClientId, op: O, input: OpInputs[O]): Token<O> {
    const call = this.now();
    this.slots.push({ clientId, op, input: { ...input }, call, return: undefined, outcome: "open" });
    this.open++;
    return (this.slots.length - 1) as Token<O>;
  }

  /** Record a successful response; call it as soon as the response arrives. */
  end<O extends OpKind>(token: Token<O>, ...output: OutputArgs<O>): void {
    const t = this.now();
    const s = this.slot(token);
    s.return = t;
    s.output = output[0];
    s.outcome = "ok";
    this.open--;
  }

  /**
   * Record an error. "definite": the error proves the op did not take effect (dropped by the
   * checker). "unknown": timeout, connection lost, member killed... (may take effect at any time).
   */
  fail(token: Token, kind: "definite" | "unknown"): void {
    const t = this.now();
    const s = this.slot(token);
    s.return = t;
    s.outcome = kind === "definite" ? "failed" : "unknown";
    this.open--;
  }

  /** Ops begun and not yet ended or failed. */
  get pending(): number {
    return this.open;
  }

  get size(): number {
    return this.slots.length;
  }

  /** A snapshot of the history; ops still open are reported with outcome "unknown". */
  history(): HistoryEntry[] {
    return this.slots.map((s) => {
      const e = {
        clientId: s.clientId,
        op: s.op,
        input: { ...s.input },
        call: s.call,
        return: s.return,
        outcome: s.outcome === "open" ? "unknown" : s.outcome,
      } as HistoryEntry;
      if (s.outcome === "ok" && s.op !== "put") (e as { output?: unknown }).output = s.output;
      return e;
    });
  }

  private slot(token: Token): Slot {
    const s = this.slots[token];
    if (!s) throw new Error(`HistoryRecorder: unknown token ${token}`);
    if (s.outcome !== "open") throw new Error(`HistoryRecorder: op ${token} (${s.op} by client ${String(s.clientId)}) already ${s.outcome}`);
    return s;
  }
}
