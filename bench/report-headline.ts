/**
 * The headline: one table over every topology with the figures a reader looks at first — KV throughput and
 * p99 per load shape, failover times, memory — the server under test beside the baseline with their ratio,
 * and beside them the CPU the servers and the load generator used (on a machine where both share the cores,
 * a load generator near a full core would make the throughput its own). `etcdkit bench` prints it last.
 */
import { connectionsLine, fig, fmtNum, fmtRatio, groupByTopology, hostsOptionsText, ratio, topologyLabel, workloadOf, type TopologyGroup } from "./report-common.js";
import type { BenchResultFile, FigureStat, WorkloadResult } from "./schema.js";

export interface HeadlineTable {
  title: string;
  head: string[];
  rows: string[][];
  notes: string[];
}

/** "put@100" or "put" with params.clients 100 → "put, 100 clients". */
export function shapeLabel(w: WorkloadResult): string {
  const base = w.name.replace(/@\d+$/, "");
  const c = w.params?.clients;
  return typeof c === "number" ? `${base}, ${c} client${c === 1 ? "" : "s"}` : base;
}

/** The first column: the size, and on namespace hosts the conditions too (one size runs under several). */
const pair = (a: FigureStat | undefined, b: FigureStat | undefined, hasBaseline: boolean): string =>
  hasBaseline ? `${fmtNum(a?.median)} / ${fmtNum(b?.median)}` : fmtNum(a?.median);

function loadRows(g: TopologyGroup, hasBaseline: boolean): string[][] {
  const rows: string[][] = [];
  for (const name of g.workloads) {
    const a = workloadOf(g.subject, name);
    const b = workloadOf(g.baseline, name);
    const any = a ?? b;
    if (!any || any.family !== "kv") continue;
    const thrA = fig(a, "throughput");
    const thrB = fig(b, "throughput");
    rows.push([
      topologyLabel(g),
      `${shapeLabel(any)} (req/s)`,
      fmtNum(thrA?.median),
      ...(hasBaseline ? [fmtNum(thrB?.median), fmtRatio(ratio(thrA, thrB))] : []),
      pair(fig(a, "p99Ms"), fig(b, "p99Ms"), hasBaseline),
      pair(fig(a, "serverCpuPct"), fig(b, "serverCpuPct"), hasBaseline),
      pair(fig(a, "clientCpuPct"), fig(b, "clientCpuPct"), hasBaseline),
    ]);
  }
  return rows;
}

function otherRows(g: TopologyGroup, hasBaseline: boolean): string[][] {
  const rows: string[][] = [];
  const row = (label: string, a: FigureStat | undefined, b: FigureStat | undefined) => {
    if (!a && !b) return;
    rows.push([topologyLabel(g), label, fmtNum(a?.median), ...(hasBaseline ? [fmtNum(b?.median), fmtRatio(ratio(a, b))] : []), "", "", ""]);
  };
  for (const name of g.workloads) {
    const a = workloadOf(g.subject, name);
    const b = workloadOf(g.baseline, name);
    const family = (a ?? b)?.family;
    if (family === "failover") {
      const s = name.replace("failover-", "");
      row(`${s}: new leader (ms)`, fig(a, "timeToNewLeaderMs"), fig(b, "timeToNewLeaderMs"));
      row(`${s}: first write after the fault (ms)`, fig(a, "timeToFirstWriteMs"), fig(b, "timeToFirstWriteMs"));
      const lost = (fig(a, "lost")?.max ?? 0) + (fig(b, "lost")?.max ?? 0);
      if (lost > 0) row(`${s}: LOST acknowledged writes`, fig(a, "lost"), fig(b, "lost"));
      const stale = (fig(a, "staleReads")?.max ?? 0) + (fig(b, "staleReads")?.max ?? 0);
      if (stale > 0) row(`${s}: STALE reads on the old leader`, fig(a, "staleReads"), fig(b, "staleReads"));
    } else if (family === "memory") {
      const keys = (a ?? b)!.params?.keys;
      row("RSS at rest, largest member (MiB)", fig(a, "rssAtRestMB"), fig(b, "rssAtRestMB"));
      row(`RSS after ${typeof keys === "number" ? keys.toLocaleString("en-US") : "the"} keys (MiB)`, fig(a, "rssAfterMB"), fig(b, "rssAfterMB"));
      const settleSec = (a ?? b)!.params?.settleSec;
      if (typeof settleSec === "number") row(`RSS ${settleSec} s after the keys, idle (MiB)`, fig(a, "rssSettledMB"), fig(b, "rssSettledMB"));
    }
  }
  return rows;
}

export function headlineTable(r: BenchResultFile): HeadlineTable | null {
  const groups = groupByTopology(r);
  const hasBaseline = groups.some((g) => g.baseline !== undefined);
  const s = r.options.server;
  const base = r.options.baseline ?? "baseline";
  const rows = groups.flatMap((g) => [...loadRows(g, hasBaseline), ...otherRows(g, hasBaseline)]);
  if (!rows.length) return null;
  const vs = (what: string) => (hasBaseline ? `${what} ${s} / ${base}` : what);
  const head = ["members", "figure", s, ...(hasBaseline ? [base, `${s} ÷ ${base}`] : []), vs("p99 ms"), vs("servers CPU %"), vs("load generator CPU %")];
  const notes = [
    "Medians over the trials. CPU in % of one core (all members together; the load generator's processes), over the measured window.",
    `Load: ${connectionsLine(r.options)}; load average ${r.machine.loadavgStart.join(" ")} at the start, ${r.machine.loadavgEnd.join(" ")} at the end.`,
    ...(r.options.hosts ? [`Hosts: ${hostsOptionsText(r.options.hosts)}; client traffic unshaped (conditions per run in the sections below).`] : []),
  ];
  return { title: "Headline", head, rows, notes };
}

export function renderHeadlineMarkdown(t: HeadlineTable): string {
  const esc = (x: string) => x.replace(/\|/g, "\\|");
  const lines = [
    `| ${t.head.map(esc).join(" | ")} |`,
    `| ${t.head.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`,
    ...t.rows.map((row) => `| ${row.map(esc).join(" | ")} |`),
  ];
  return `${lines.join("\n")}\n\n${t.notes.join("\n")}\n`;
}
