/** The Markdown summary: per topology, the subject server beside the baseline with ratios. */
import {
  connectionsLine,
  fig,
  fmtBytes,
  fmtFig,
  fmtNum,
  fmtRatio,
  conditionsLines,
  groupByTopology,
  groupLabel,
  hostsOptionsText,
  isLoadWorkload,
  ratio,
  statusNote,
  workloadOf,
  type TopologyGroup,
} from "./report-common.js";
import { headlineTable, renderHeadlineMarkdown } from "./report-headline.js";
import type { BenchResultFile, LoadTrial, WorkloadResult } from "./schema.js";
import { decodeHistogram, latencySummary, newHistogram } from "./stats.js";

/** Workloads whose "requests" are not rates worth a req/s column: reported in their own table. */
export const NOTICE_WORKLOADS = new Set(["lease-expiry"]);

/** Every sample of every trial together (the trials' histograms merged): p50/p99/max over all the leases. */
export function pooledLatency(w: WorkloadResult | undefined): { samples: number; sent: number; missed: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number } | null {
  const ts = (w?.trials ?? []).filter((t): t is LoadTrial => t.kind === "load");
  if (!ts.length) return null;
  const h = newHistogram();
  for (const t of ts) if (t.histogram) h.add(decodeHistogram(t.histogram));
  const l = latencySummary(h);
  return {
    samples: l.count,
    sent: ts.reduce((a, t) => a + t.sent, 0),
    missed: ts.reduce((a, t) => a + t.errors + t.timeouts, 0),
    p50Ms: l.p50Ms,
    p90Ms: l.p90Ms,
    p99Ms: l.p99Ms,
    maxMs: l.maxMs,
  };
}

export interface Table {
  title: string;
  head: string[];
  rows: string[][];
}

function table(head: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  return [`| ${head.map(esc).join(" | ")} |`, `| ${head.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`, ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`)].join("\n");
}

export function machineLine(r: BenchResultFile): string {
  const m = r.machine;
  const fs = m.fsync ? `fsync (4 KiB write + fdatasync, ${m.fsync.samples}×) p50 ${fmtNum(m.fsync.p50Ms)} ms, p99 ${fmtNum(m.fsync.p99Ms)} ms` : "fsync not measured";
  return `${m.cores} cores (${m.cpuModel}), ${fmtBytes(m.totalMemBytes)} RAM, load average ${m.loadavgStart.join(" ")} → ${m.loadavgEnd.join(" ")}, Node ${m.node}, ${m.platform} ${m.release}; ${fs}`;
}

export function optionsLine(r: BenchResultFile): string {
  const o = r.options;
  const amount = o.durationSec != null ? `${o.durationSec} s per trial` : `${o.total} requests per trial`;
  const rate = o.rate ? `, rate ${o.rate}/s` : "";
  const shapes = o.shapes?.length ? o.shapes : [{ conns: o.conns, clients: o.clients }];
  const shapeText = shapes.map((x) => `${x.conns} conn${x.conns === 1 ? "" : "s"} / ${x.clients} client${x.clients === 1 ? "" : "s"}`).join(" and ");
  const hosts = o.hosts ? `; ${hostsOptionsText(o.hosts)}` : "";
  return `${o.profile && o.profile !== "default" ? `--${o.profile}: ` : ""}${shapeText}, ${connectionsLine(o)}, ${amount}${rate} (+${o.warmup} warm-up), key ${o.keySize} B, value ${o.valSize} B, key space ${o.keySpaceSize}${o.sequentialKeys ? " sequential" : ""}, consistency ${o.consistency}, ${o.trials} trial(s), ${o.failoverTrials} failover trial(s), ${o.workers} load process(es)${hosts}`;
}

function loadTable(r: BenchResultFile, g: TopologyGroup): Table | null {
  const names = g.workloads.filter((n) => isLoadWorkload(r, n) && !NOTICE_WORKLOADS.has(n));
  if (!names.length) return null;
  const base = g.baseline?.server;
  const s = g.subject?.server ?? "subject";
  const head = base
    ? ["workload", `${s} req/s`, `${base} req/s`, "ratio", `${s} p50 ms`, `${base} p50 ms`, `${s} p99 ms`, `${base} p99 ms`, "p99 ratio", `errors ${s}/${base}`]
    : ["workload", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors"];
  const rows = names.map((n) => {
    const a = workloadOf(g.subject, n);
    const b = workloadOf(g.baseline, n);
    const note = statusNote(a);
    const cell = (w: typeof a, f: string) => (statusNote(w) && !w?.trials.length ? (w?.status ?? "–") : fmtFig(fig(w, f)));
    if (base) {
      return [
        n + (note ? ` (${s} ${note.split(":")[0]})` : ""),
        cell(a, "throughput"),
        cell(b, "throughput"),
        fmtRatio(ratio(fig(a, "throughput"), fig(b, "throughput"))),
        cell(a, "p50Ms"),
        cell(b, "p50Ms"),
        cell(a, "p99Ms"),
        cell(b, "p99Ms"),
        fmtRatio(ratio(fig(a, "p99Ms"), fig(b, "p99Ms"))),
        `${fmtNum(fig(a, "errors")?.median)}/${fmtNum(fig(b, "errors")?.median)}`,
      ];
    }
    return [n + (note ? ` (${note.split(":")[0]})` : ""), cell(a, "throughput"), cell(a, "p50Ms"), cell(a, "p90Ms"), cell(a, "p99Ms"), cell(a, "p999Ms"), cell(a, "maxMs"), fmtNum(fig(a, "errors")?.median)];
  });
  return { title: "Load", head, rows };
}

/** lease-expiry: how long after a lease's nominal expiry its watcher gets the DELETE, over every lease of every trial. */
function expiryTable(g: TopologyGroup): Table | null {
  const names = g.workloads.filter((n) => NOTICE_WORKLOADS.has(n));
  if (!names.length) return null;
  const runs = [g.subject, g.baseline].filter((x) => x !== undefined);
  const head = ["workload", "server", "p50 ms", "p90 ms", "p99 ms", "max ms", "p50 ms per trial", "noticed / leases", "all gone ms", "trials"];
  const rows: string[][] = [];
  for (const n of names) {
    for (const run of runs) {
      const w = workloadOf(run, n);
      const note = statusNote(w);
      const p = pooledLatency(w);
      if (!w || !p) {
        rows.push([n, run.server, note ?? "–", "", "", "", "", "", "", "0"]);
        continue;
      }
      // first grant → last DELETE, over the trials in which every lease was noticed ("–": none was complete)
      const gone = fig(w, "allGoneMs") ? fmtFig(fig(w, "allGoneMs")) : "–";
      rows.push([n, run.server, fmtNum(p.p50Ms), fmtNum(p.p90Ms), fmtNum(p.p99Ms), fmtNum(p.maxMs), fmtFig(fig(w, "p50Ms")), `${p.samples} / ${p.sent}`, gone, String(w.trials.length)]);
    }
  }
  return { title: "Lease expiry: DELETE event received after the lease's nominal expiry (all trials' leases together)", head, rows };
}

function memoryTable(g: TopologyGroup): Table | null {
  const names = g.workloads.filter((n) => (workloadOf(g.subject, n) ?? workloadOf(g.baseline, n))?.family === "memory");
  if (!names.length) return null;
  const runs = [g.subject, g.baseline].filter((x) => x !== undefined);
  const settleSec = workloadOf(g.subject ?? g.baseline, names[0]!)?.params?.settleSec;
  const settled = typeof settleSec === "number";
  const head = ["server", "RSS at rest MiB", "RSS after MiB", ...(settled ? [`RSS ${settleSec} s later MiB`] : []), "anonymous MiB", "file-backed MiB", "database map MiB", "database file MiB", "heap at rest MiB", "heap after MiB", "keys/s"];
  const rows: string[][] = [];
  for (const n of names) {
    for (const run of runs) {
      const w = workloadOf(run, n);
      const note = statusNote(w);
      if (!w || (note && !w.trials.length)) {
        rows.push([run.server, note ?? "–", ...Array<string>(head.length - 2).fill("")]);
        continue;
      }
      const c = (f: string) => fmtNum(fig(w, f)?.median);
      rows.push([run.server, c("rssAtRestMB"), c("rssAfterMB"), ...(settled ? [c("rssSettledMB")] : []), c("anonAfterMB"), c("fileAfterMB"), c("dbMapAfterMB"), c("dbFileAfterMB"), c("heapAtRestMB"), c("heapAfterMB"), c("writeThroughput")]);
    }
  }
  const keys = workloadOf(g.subject ?? g.baseline, names[0]!)?.params?.keys;
  return {
    title: `Memory of the largest member, at rest and after ${typeof keys === "number" ? keys.toLocaleString("en-US") : ""} keys${settled ? `, then again ${settleSec} s later, idle (the runtime gives back what the load grew on its own schedule)` : ""} (anonymous = heap and native allocations; file-backed = mapped files, of which the database map; heap = the runtime's own figure from /metrics, – when the server does not export it; the page cache is not in RSS)`,
    head,
    rows,
  };
}

function failoverTable(g: TopologyGroup): Table | null {
  const names = g.workloads.filter((n) => n.startsWith("failover-"));
  if (!names.length) return null;
  const runs = [g.subject, g.baseline].filter((x) => x !== undefined);
  const head = ["scenario", "server", "new leader ms", "first write ms", "error window ms", "failed", "timed out", "lost", "recovery ms", "trials"];
  const rows: string[][] = [];
  for (const n of names) {
    for (const run of runs) {
      const w = workloadOf(run, n);
      const note = statusNote(w);
      if (!w || (note && !w.trials.length)) {
        rows.push([n.replace("failover-", ""), run.server, note ?? "–", "", "", "", "", "", "", "0"]);
        continue;
      }
      rows.push([
        n.replace("failover-", ""),
        run.server,
        fmtFig(fig(w, "timeToNewLeaderMs")),
        fmtFig(fig(w, "timeToFirstWriteMs")),
        fmtFig(fig(w, "errorWindowMs")),
        fmtFig(fig(w, "failed")),
        fmtFig(fig(w, "timedOut")),
        `${fmtNum(fig(w, "lost")?.max)}${(fig(w, "lost")?.max ?? 0) > 0 ? " ⚠" : ""}`,
        fmtFig(fig(w, "recoveryMs")),
        String(w.trials.length),
      ]);
    }
  }
  return { title: "Failover", head, rows };
}

function resourcesTable(r: BenchResultFile, g: TopologyGroup): Table | null {
  const names = g.workloads.filter((n) => isLoadWorkload(r, n));
  const runs = [g.subject, g.baseline].filter((x) => x !== undefined);
  const rows: string[][] = [];
  for (const n of names) {
    for (const run of runs) {
      const w = workloadOf(run, n);
      if (!w || !w.trials.length) continue;
      const t = w.trials[0] as LoadTrial;
      rows.push([
        n,
        run.server,
        fmtFig(fig(w, "serverCpuPct")),
        fmtFig(fig(w, "serverRssMaxMB")),
        fmtFig(fig(w, "walFsyncP99Ms")),
        fmtFig(fig(w, "backendCommitP99Ms")),
        fmtFig(fig(w, "clientCpuPct")),
        String(t.clientCpu?.processes ?? "–"),
      ]);
    }
  }
  if (!rows.length) return null;
  return { title: "Servers and client", head: ["workload", "server", "server CPU % (all members)", "max RSS MiB", "WAL fsync p99 ms", "commit p99 ms", "client CPU %", "load processes"], rows };
}

/** Partition scenarios: the failover figures plus what the old leader answered while cut off. */
function partitionTable(g: TopologyGroup): Table | null {
  const names = g.workloads.filter((n) => n.startsWith("partition-"));
  if (!names.length) return null;
  const runs = [g.subject, g.baseline].filter((x) => x !== undefined);
  const head = ["scenario", "server", "new leader ms", "first write ms", "error window ms", "failed", "timed out", "lost", "old leader reads ok / sent", "stale reads", "held ms", "trials"];
  const rows: string[][] = [];
  for (const n of names) {
    for (const run of runs) {
      const w = workloadOf(run, n);
      const note = statusNote(w);
      if (!w || (note && !w.trials.length)) {
        rows.push([n, run.server, note ?? "–", "", "", "", "", "", "", "", "", "0"]);
        continue;
      }
      const ts = w.trials.filter((t) => t.kind === "failover" && t.partition);
      const reads = ts.map((t) => (t.kind === "failover" ? t.partition!.oldLeaderReads : null)).filter((x) => x !== null);
      const sum = (k: "ok" | "sent" | "stale") => reads.reduce((a, x) => a + x[k], 0);
      const held = ts.map((t) => (t.kind === "failover" ? t.partition!.heldMs : 0));
      rows.push([
        n,
        run.server,
        fmtFig(fig(w, "timeToNewLeaderMs")),
        fmtFig(fig(w, "timeToFirstWriteMs")),
        fmtFig(fig(w, "errorWindowMs")),
        fmtFig(fig(w, "failed")),
        fmtFig(fig(w, "timedOut")),
        `${fmtNum(fig(w, "lost")?.max)}${(fig(w, "lost")?.max ?? 0) > 0 ? " ⚠" : ""}`,
        `${sum("ok")} / ${sum("sent")}`,
        `${sum("stale")}${sum("stale") > 0 ? " ⚠" : ""}`,
        held.length ? fmtNum(Math.max(...held)) : "–",
        String(w.trials.length),
      ]);
    }
  }
  return { title: "Partitions (old leader: linearizable reads of a key the other members kept writing)", head, rows };
}

export function summaryTables(r: BenchResultFile, g: TopologyGroup): Table[] {
  return [loadTable(r, g), expiryTable(g), failoverTable(g), memoryTable(g), partitionTable(g), resourcesTable(r, g)].filter((t): t is Table => t !== null);
}

export function problemLines(g: TopologyGroup): string[] {
  const problems: string[] = [];
  for (const run of [g.subject, g.baseline]) {
    for (const w of run?.workloads ?? []) {
      const n = statusNote(w);
      if (n) problems.push(`${run!.server} ${w.name}: ${n}`);
    }
  }
  return problems;
}

export function renderMarkdown(r: BenchResultFile): string {
  const out: string[] = [];
  out.push(`# etcdkit benchmark ${r.startedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")}`);
  out.push("");
  out.push(`Run \`${r.runId}\`, ${fmtNum(r.durationMs / 1000, 0)} s${r.interrupted ? " — **interrupted**: partial results" : ""}. Result schema ${r.schema} v${r.schemaVersion}.`);
  out.push("");
  out.push(`- Machine: ${machineLine(r)}`);
  out.push(`- Load: ${optionsLine(r)}`);
  out.push(`- Servers: ${r.options.server}${r.options.baseline ? ` vs ${r.options.baseline} (ratio = ${r.options.server} ÷ ${r.options.baseline}; above 1 is better for req/s, below 1 is better for latency)` : ""}; target ${r.options.target}`);
  out.push("- Figures are the median over the trials; ± is half the range over the trials relative to the median.");
  for (const n of r.notes) out.push(`- Note: ${n}`);
  const headline = headlineTable(r);
  if (headline) out.push("", "## Headline", "", renderHeadlineMarkdown(headline).trimEnd());
  for (const g of groupByTopology(r)) {
    out.push("");
    out.push(`## ${groupLabel(g)}`);
    const cond = conditionsLines(g);
    if (cond.length) out.push("", ...cond.map((l) => `- ${l}`));
    for (const run of [g.subject, g.baseline]) {
      if (run && run.status !== "ok") out.push("", `${run.server}: **${run.status}**${run.error ? ` — ${run.error}` : ""}`);
    }
    for (const t of summaryTables(r, g)) out.push("", `### ${t.title}`, "", table(t.head, t.rows));
    const problems = problemLines(g);
    if (problems.length) out.push("", "Not run or failed:", "", ...problems.map((p) => `- ${p}`));
  }
  out.push("");
  return out.join("\n");
}
