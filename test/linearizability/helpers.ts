/** Terse history builders for tests. Times are plain numbers; `ret` undefined = outcome unknown. */
import type { ClientId, HistoryEntry } from "./types.js";

const outcomeOf = (ret: number | undefined): "ok" | "unknown" => (ret === undefined ? "unknown" : "ok");

export function put(c: ClientId, call: number, ret: number | undefined, key: string, value: string): HistoryEntry {
  return { clientId: c, op: "put", input: { key, value }, call, return: ret, outcome: outcomeOf(ret) };
}
export function get(c: ClientId, call: number, ret: number, key: string, output: string | null): HistoryEntry {
  return { clientId: c, op: "get", input: { key }, call, return: ret, output, outcome: "ok" };
}
export function del(c: ClientId, call: number, ret: number | undefined, key: string, output?: 0 | 1): HistoryEntry {
  return ret === undefined
    ? { clientId: c, op: "delete", input: { key }, call, return: undefined, outcome: "unknown" }
    : { clientId: c, op: "delete", input: { key }, call, return: ret, output: output ?? 0, outcome: "ok" };
}
export function cas(
  c: ClientId,
  call: number,
  ret: number | undefined,
  key: string,
  expected: string | null,
  value: string,
  output?: boolean,
): HistoryEntry {
  return ret === undefined
    ? { clientId: c, op: "cas", input: { key, expected, value }, call, return: undefined, outcome: "unknown" }
    : { clientId: c, op: "cas", input: { key, expected, value }, call, return: ret, output: output ?? false, outcome: "ok" };
}
/** The same op, but it returned an error proving it did not take effect. */
export function failed(e: HistoryEntry): HistoryEntry {
  return { ...e, outcome: "failed" } as HistoryEntry;
}
