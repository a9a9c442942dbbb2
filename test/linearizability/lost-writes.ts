/**
 * Lost acknowledged writes, stated directly: given a history and a final read of every key (taken
 * after all clients stopped), report each acknowledged write whose effect is missing from the final
 * state and that no other write (acknowledged or of unknown outcome) could have been ordered after.
 * The linearizability check also catches these (when the final reads are in the history); this
 * gives the one-line message for the common case.
 */
import type { History, HistoryEntry } from "./types.js";

export interface LostWrite {
  key: string;
  kind: "lost-write" | "unexplained-final-value";
  /** Index of the lost write in the history (-1 for "unexplained-final-value"). */
  index: number;
  /** The value the write left (null: absent). */
  expected: string | null;
  /** The final value read (null: absent). */
  found: string | null;
  message: string;
}

interface W {
  index: number;
  entry: HistoryEntry;
  effect: string | null;
  call: number;
  ret: number;
  acked: boolean;
}

const show = (v: string | null): string => (v === null ? "<absent>" : JSON.stringify(v));

function describe(w: W): string {
  const e = w.entry;
  const k = JSON.stringify(e.input.key);
  const what =
    e.op === "put"
      ? `put(${k}, ${show(e.input.value)})`
      : e.op === "cas"
        ? `cas(${k}, expect ${show(e.input.expected)}, set ${show(e.input.value)})`
        : `delete(${k})`;
  const end = Number.isFinite(w.ret) ? `${w.ret.toFixed(3)}]` : "∞)";
  return `${w.acked ? "acknowledged" : "unknown-outcome"} ${what} (#${w.index}, client ${String(e.clientId)}, [${w.call.toFixed(3)}, ${end})`;
}

/**
 * `finalReads`: the value of every key at the end (a Map or a plain object). A key missing from
 * it is taken as absent, so a prefix range read's results can be passed as they are.
 */
export function findLostWrites(
  history: History,
  finalReads: ReadonlyMap<string, string | null> | Readonly<Record<string, string | null>>,
): LostWrite[] {
  const finalOf = (k: string): string | null => {
    const v = finalReads instanceof Map ? finalReads.get(k) : (finalReads as Record<string, string | null>)[k];
    return v === undefined ? null : v;
  };
  const byKey = new Map<string, W[]>();
  history.forEach((e, index) => {
    if (e.op === "get" || e.outcome === "failed") return;
    if (e.op === "cas" && e.outcome === "ok" && e.output !== true) return; // compare failed: no write
    const acked = e.outcome === "ok";
    const w: W = {
      index,
      entry: e,
      effect: e.op === "delete" ? null : e.input.value,
      call: e.call,
      ret: acked && typeof e.return === "number" ? e.return : Infinity,
      acked,
    };
    const list = byKey.get(e.input.key) ?? [];
    list.push(w);
    byKey.set(e.input.key, list);
  });
  const out: LostWrite[] = [];
  for (const [key, writes] of byKey) {
    const found = finalOf(key);
    let lost = 0;
    for (const w of writes) {
      if (!w.acked || w.effect === found) continue;
      // Another write could come after w unless it definitely returned before w was called.
      if (writes.some((x) => x !== w && !(x.ret < w.call))) continue;
      lost++;
      out.push({
        key,
        kind: "lost-write",
        index: w.index,
        expected: w.effect,
        found,
        message: `lost write on key ${JSON.stringify(key)}: ${describe(w)} is the last write to the key, but the final read returned ${show(found)}`,
      });
    }
    if (lost > 0) continue;
    // The final value must come from a write not definitely followed by an acknowledged write
    // (or be the initial absent state when no acknowledged write exists).
    const acked = writes.filter((w) => w.acked);
    const explained =
      (found === null && acked.length === 0) ||
      writes.some((w) => w.effect === found && !acked.some((x) => x !== w && w.ret < x.call));
    if (!explained) {
      const lasts = acked.filter((w) => !acked.some((x) => x !== w && w.ret < x.call));
      out.push({
        key,
        kind: "unexplained-final-value",
        index: -1,
        expected: lasts[0]?.effect ?? null,
        found,
        message: `final read of key ${JSON.stringify(key)} returned ${show(found)}, which no write that could be the last one left; candidates for the last write: ${
          lasts.map(describe).join("; ") || "none"
        }`,
      });
    }
  }
  return out;
}
