/** Shared by the Markdown and HTML reports: grouping runs by topology, pairing subject and baseline, formatting. */
import type { BenchResultFile, FigureStat, HostsOptionsRecord, RunConditions, TopologyRun, WorkloadResult } from "./schema.js";

export interface TopologyGroup {
  members: number;
  /** --target hosts: the conditions shared by the group's runs (subject and baseline). */
  conditions?: RunConditions;
  /** With --tls (both transports in one file): which one this group ran over. */
  transport?: "TLS" | "plaintext";
  /** With --auth-cost (both auth modes in one file): whether this group ran with auth on. */
  auth?: "auth" | "no auth";
  subject: TopologyRun | undefined;
  baseline: TopologyRun | undefined;
  /** Workload names in run order, over both servers. */
  workloads: string[];
}

/**
 * Runs grouped by size, on namespace hosts by the conditions they ran under, with --tls by transport and with
 * --auth-cost by auth mode (in run order within a size).
 */
export function groupByTopology(r: BenchResultFile): TopologyGroup[] {
  const byKey = new Map<string, TopologyGroup>();
  const both = (r.options.transports?.length ?? 1) > 1;
  const bothAuth = (r.options.authModes?.length ?? 1) > 1;
  for (const run of r.runs) {
    const transport = both ? (run.tls === false ? "plaintext" : "TLS") : undefined;
    const auth = bothAuth ? (run.auth ? "auth" : "no auth") : undefined;
    const key = `${run.members}|${run.conditions?.tag ?? ""}|${transport ?? ""}|${auth ?? ""}`;
    let g = byKey.get(key);
    if (!g) {
      g = { members: run.members, ...(run.conditions ? { conditions: run.conditions } : {}), ...(transport ? { transport } : {}), ...(auth ? { auth } : {}), subject: undefined, baseline: undefined, workloads: [] };
      byKey.set(key, g);
    }
    if (run.role === "baseline") g.baseline ??= run;
    else g.subject ??= run;
    for (const w of run.workloads) if (!g.workloads.includes(w.name)) g.workloads.push(w.name);
  }
  return [...byKey.values()].sort((a, b) => a.members - b.members);
}

/** "3 members", on namespace hosts "3 hosts, 20ms"; with --tls ", TLS" or ", plaintext" after it; with --auth-cost ", auth" or ", no auth". */
export function groupLabel(g: TopologyGroup): string {
  const base = g.conditions ? `${g.members} host${g.members === 1 ? "" : "s"}, ${g.conditions.tag}` : `${g.members} member${g.members === 1 ? "" : "s"}`;
  return [base, g.transport, g.auth].filter((x) => x !== undefined).join(", ");
}

/** What a group's figures ran under, one line each (empty for targets without conditions). */
export function conditionsLines(g: TopologyGroup): string[] {
  const c = g.conditions;
  if (!c) return [];
  const lc = c.linkCheck;
  return [
    `Hosts: ${c.hosts} network namespaces (${c.addresses.join(", ")}), each with its own sshd and data dir; deployed with etcdkit's SSH deploy, service manager ${c.serviceManager ?? "unknown"}`,
    `Peer links: ${c.conditionsText}${c.shaper === "userspace-proxy" ? " (userspace link shaper on every peer link)" : ""}; client ↔ member traffic ${c.clientPath}`,
    `CPU isolation: ${c.isolation.detail}`,
    ...(lc
      ? [
          `Link check ${lc.from}→${lc.to} before deploy: RTT p50 ${fmtNum(lc.shaped.rttP50Ms)} ms, p99 ${fmtNum(lc.shaped.rttP99Ms)} ms through the shaper (asked ${fmtNum(lc.requestedRttMs)} ms; direct ${fmtNum(lc.direct.rttP50Ms)} / ${fmtNum(lc.direct.rttP99Ms)} ms), shaper overhead p50 ${fmtNum(lc.overheadP50Ms)} ms; bulk ${fmtNum(lc.shaped.mbit)} Mbit/s shaped vs ${fmtNum(lc.direct.mbit)} Mbit/s direct`,
        ]
      : []),
  ];
}

/** The headline's size cell: "3", on namespace hosts "3 (20ms)", with both transports in one file "3 TLS" / "3 (20ms) plaintext", with both auth modes "3 auth" / "3 no auth". */
export function topologyLabel(g: TopologyGroup): string {
  const size = g.conditions ? `${g.members} (${g.conditions.tag})` : String(g.members);
  return [size, g.transport, g.auth].filter((x) => x !== undefined).join(" ");
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

/** --target hosts as asked, for the header line (each group's section says what was in force). */
export function hostsOptionsText(h: HostsOptionsRecord): string {
  const parts = [`namespace hosts: delays ${h.delaysMs.map((d) => `${d} ms`).join(", ")}`];
  if (h.jitterMs > 0) parts.push(`jitter ±${h.jitterMs} ms`);
  if (h.lossPct > 0) parts.push(`loss ${h.lossPct}%`);
  if (h.bandwidthKbit !== null) parts.push(`bandwidth ${h.bandwidthKbit} kbit/s`);
  if (h.links.length) parts.push(`links ${h.links.join("; ")}`);
  if (h.coresPerHost !== null) parts.push(`${h.coresPerHost} core(s) per host`);
  if (!h.shaper) parts.push("no link shaper");
  return parts.join(", ");
}
