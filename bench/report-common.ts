/** Shared by the Markdown and HTML reports: grouping runs by topology, pairing subject and baseline, formatting. */
import type { BenchResultFile, FigureStat, TopologyRun, WorkloadResult } from "./schema.js";

export interface TopologyGroup {
  members: number;
  /** With --tls (both transports in one file): which one this group ran over. */
  transport?: "TLS" | "plaintext";
  subject: TopologyRun | undefined;
  baseline: TopologyRun | undefined;
  /** Workload names in run order, over both servers. */
  workloads: string[];
}

export function groupByTopology(r: BenchResultFile): TopologyGroup[] {
  const byMembers = new Map<string, TopologyGroup>();
  const both = (r.options.transports?.length ?? 1) > 1;
  for (const run of r.runs) {
    const transport = both ? (run.tls === false ? "plaintext" : "TLS") : undefined;
    const key = `${run.members}|${transport ?? ""}`;
    let g = byMembers.get(key);
    if (!g) byMembers.set(key, (g = { members: run.members, ...(transport ? { transport } : {}), subject: undefined, baseline: undefined, workloads: [] }));
    if (run.role === "baseline") g.baseline ??= run;
    else g.subject ??= run;
    for (const w of run.workloads) if (!g.workloads.includes(w.name)) g.workloads.push(w.name);
  }
  return [...byMembers.values()].sort((a, b) => a.members - b.members);
}

/** "3" or, with both transports in one file, "3 TLS" / "3 plaintext". */
export function topologyLabel(g: TopologyGroup): string {
  return g.transport ? `${g.members} ${g.transport}` : String(g.members);
}

export function workloadOf(run: TopologyRun | undefined, name: string): WorkloadResult | undefined {
  return run?.workloads.find((w) => w.name === name);
}

export function fig(w: WorkloadResult | undefined, name: string): FigureStat | undefined {
  const f = w?.summary?.[name];
  return f && typeof f.median === "number" && Number.isFinite(f.median) ? f : undefined;
}

export function fmtNum(x: number | null | undefined, digits?: number): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  const d = digits ?? (a >= 1000 ? 0 : a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
  return x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: 0 });
}

/** "1,234 ±5%" (the spread over the trials) or just the value for one trial. */
export function fmtFig(f: FigureStat | undefined): string {
  if (!f) return "–";
  const sp = f.n > 1 && Number.isFinite(f.spread) ? ` ±${Math.round((f.spread * 100) / 2)}%` : "";
  return `${fmtNum(f.median)}${sp}`;
}

/** subject / baseline, "1.23×". */
export function ratio(a: FigureStat | undefined, b: FigureStat | undefined): number | null {
  if (!a || !b || b.median === 0) return null;
  return a.median / b.median;
}

export function fmtRatio(x: number | null): string {
  return x === null || !Number.isFinite(x) ? "–" : `${x.toFixed(2)}×`;
}

export function statusNote(w: WorkloadResult | undefined): string | null {
  if (!w) return null;
  if (w.status === "ok") return null;
  return `${w.status}${w.skipReason ? `: ${w.skipReason}` : ""}${w.error ? `: ${w.error}` : ""}`;
}

export const LOAD_FAMILIES = new Set(["kv", "http", "watch", "lease"]);

export function isLoadWorkload(r: BenchResultFile, name: string): boolean {
  for (const run of r.runs) for (const w of run.workloads) if (w.name === name) return LOAD_FAMILIES.has(w.family);
  return false;
}

export function serverLabel(run: TopologyRun | undefined): string {
  return run ? run.server : "–";
}

export function fmtBytes(b: number | null | undefined): string {
  if (b === null || b === undefined) return "–";
  return `${fmtNum(b / 1048576, 1)} MiB`;
}

/** How the load reached the members, in words (files before `connections` existed: connection i to member i mod N). */
export function connectionsLine(o: BenchResultFile["options"]): string {
  if (o.connections === "leader" || (o.connections === undefined && o.targetLeader)) return "every connection to the leader only (--target-leader)";
  if (o.connections === "all-members") return "each connection spreads its requests over every member, round-robin (as clientv3 does)";
  return "connection i to member i mod N (files written before the load spread over every member)";
}
