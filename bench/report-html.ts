/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, no external font or asset).
 * Charts: throughput by topology, latency percentiles, throughput over time, failover timelines.
 */
import { fig, fmtNum, groupByTopology, isLoadWorkload, workloadOf } from "./report-common.js";
import { headlineTable } from "./report-headline.js";
import { machineLine, NOTICE_WORKLOADS, optionsLine, problemLines, summaryTables } from "./report-md.js";
import type { BenchResultFile, FailoverTrial, LoadTrial, TopologyRun } from "./schema.js";

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const n2 = (x: number): string => (Math.round(x * 10) / 10).toString();

export const COLORS = { subject: "#2563eb", baseline: "#ea580c", ok: "#16a34a", error: "#dc2626", timeout: "#f59e0b", mark: "#334155" };
const DASHES = ["", "6 3", "2 3", "10 3 2 3"];

/** Round numbers for an axis from 0 (or lo) to hi. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 0.5; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

interface Frame {
  w: number;
  h: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}
const FRAME: Frame = { w: 640, h: 280, left: 64, right: 16, top: 36, bottom: 56 };

function svgOpen(kind: string, title: string, f: Frame = FRAME): string {
  return `<svg class="chart" data-kind="${kind}" xmlns="http://www.w3.org/2000/svg" width="${f.w}" height="${f.h}" viewBox="0 0 ${f.w} ${f.h}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title><text class="chart-title" x="${f.left}" y="20">${esc(title)}</text>`;
}

function yAxis(ticks: number[], y: (v: number) => number, f: Frame, unit: string, fmt: (v: number) => string = (v) => fmtNum(v)): string {
  const parts = ticks.map(
    (t) => `<line class="grid" x1="${f.left}" x2="${f.w - f.right}" y1="${n2(y(t))}" y2="${n2(y(t))}"/><text class="tick" x="${f.left - 6}" y="${n2(y(t) + 4)}" text-anchor="end">${esc(fmt(t))}</text>`,
  );
  parts.push(`<text class="unit" x="12" y="${n2((f.top + f.h - f.bottom) / 2)}" transform="rotate(-90 12 ${n2((f.top + f.h - f.bottom) / 2)})" text-anchor="middle">${esc(unit)}</text>`);
  return parts.join("");
}

function legend(items: { label: string; color: string; dash?: string }[], f: Frame = FRAME): string {
  let x = f.left;
  const y = f.h - 12;
  return items
    .map((it) => {
      const s = `<g class="legend-item"><line x1="${x}" x2="${x + 18}" y1="${y - 4}" y2="${y - 4}" stroke="${it.color}" stroke-width="6"${it.dash ? ` stroke-dasharray="${it.dash}"` : ""}/><text x="${x + 24}" y="${y}">${esc(it.label)}</text></g>`;
      x += 34 + it.label.length * 7;
      return s;
    })
    .join("");
}

export interface BarSeries {
  name: string;
  color: string;
  values: (number | null)[];
  lo?: (number | null)[];
  hi?: (number | null)[];
}

/** Grouped bars: one group per category, one bar per series, whiskers from min to max over the trials. */
export function barChart(kind: string, title: string, categories: string[], series: BarSeries[], unit: string): string {
  const f = FRAME;
  const all = series.flatMap((s) => [...s.values, ...(s.hi ?? [])]).filter((v): v is number => v !== null && Number.isFinite(v));
  const max = Math.max(1e-9, ...all);
  const ticks = niceTicks(0, max);
  const top = ticks[ticks.length - 1]!;
  const plotH = f.h - f.top - f.bottom;
  const y = (v: number) => f.top + plotH * (1 - v / top);
  const plotW = f.w - f.left - f.right;
  const groupW = plotW / Math.max(1, categories.length);
  const barW = Math.min(48, (groupW * 0.8) / Math.max(1, series.length));
  const out = [svgOpen(kind, title), yAxis(ticks, y, f, unit)];
  categories.forEach((c, ci) => {
    const gx = f.left + groupW * ci + (groupW - barW * series.length) / 2;
    series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const x = gx + barW * si;
      out.push(
        `<rect class="bar" data-series="${esc(s.name)}" data-category="${esc(c)}" x="${n2(x + 1)}" y="${n2(y(v))}" width="${n2(barW - 2)}" height="${n2(Math.max(0.5, y(0) - y(v)))}" fill="${s.color}"><title>${esc(`${s.name}, ${c}: ${fmtNum(v)} ${unit}`)}</title></rect>`,
      );
      const lo = s.lo?.[ci];
      const hi = s.hi?.[ci];
      if (lo != null && hi != null && hi > lo) {
        const cx = n2(x + barW / 2);
        out.push(`<line class="whisker" x1="${cx}" x2="${cx}" y1="${n2(y(lo))}" y2="${n2(y(hi))}"/>`);
      }
      const labelAt = hi != null && hi > v ? hi : v;
      out.push(`<text class="value" x="${n2(x + barW / 2)}" y="${n2(y(labelAt) - 4)}" text-anchor="middle">${esc(fmtNum(v))}</text>`);
    });
    out.push(`<text class="tick" x="${n2(f.left + groupW * ci + groupW / 2)}" y="${f.h - f.bottom + 16}" text-anchor="middle">${esc(c)}</text>`);
  });
  out.push(`<line class="axis" x1="${f.left}" x2="${f.w - f.right}" y1="${n2(y(0))}" y2="${n2(y(0))}"/>`);
  out.push(legend(series.map((s) => ({ label: s.name, color: s.color }))));
  out.push("</svg>");
  return out.join("");
}

export interface LineSeries {
  name: string;
  color: string;
  dash?: string;
  values: (number | null)[];
}

/** Lines over categorical x (percentiles, seconds); optional log y. */
export function lineChart(kind: string, title: string, xLabels: string[], series: LineSeries[], unit: string, logY = false, xEvery = 1): string {
  const f = FRAME;
  const all = series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v) && (!logY || v > 0));
  const out = [svgOpen(kind, title)];
  const plotH = f.h - f.top - f.bottom;
  const plotW = f.w - f.left - f.right;
  let y: (v: number) => number;
  if (logY) {
    const lo = 10 ** Math.floor(Math.log10(Math.max(1e-3, Math.min(...all, 1))));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, lo * 10)));
    y = (v: number) => f.top + plotH * (1 - (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)));
    const ticks: number[] = [];
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
    out.push(yAxis(ticks, y, f, unit));
  } else {
    const ticks = niceTicks(0, Math.max(1e-9, ...all));
    const top = ticks[ticks.length - 1]!;
    y = (v: number) => f.top + plotH * (1 - v / top);
    out.push(yAxis(ticks, y, f, unit));
  }
  const step = xLabels.length > 1 ? plotW / (xLabels.length - 1) : 0;
  const x = (i: number) => f.left + (xLabels.length > 1 ? step * i : plotW / 2);
  xLabels.forEach((l, i) => {
    if (i % xEvery === 0) out.push(`<text class="tick" x="${n2(x(i))}" y="${f.h - f.bottom + 16}" text-anchor="middle">${esc(l)}</text>`);
  });
  for (const s of series) {
    let d = "";
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v) || (logY && v <= 0)) return;
      d += `${d ? "L" : "M"}${n2(x(i))},${n2(y(v))}`;
    });
    if (!d) continue;
    out.push(`<path class="series" data-series="${esc(s.name)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}><title>${esc(s.name)}</title></path>`);
    if (s.values.length <= 12) {
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v) || (logY && v <= 0)) return;
        out.push(`<circle class="point" cx="${n2(x(i))}" cy="${n2(y(v))}" r="3" fill="${s.color}"><title>${esc(`${s.name} ${xLabels[i]}: ${fmtNum(v)} ${unit}`)}</title></circle>`);
      });
    }
  }
  out.push(`<line class="axis" x1="${f.left}" x2="${f.w - f.right}" y1="${f.h - f.bottom}" y2="${f.h - f.bottom}"/>`);
  out.push(legend(series.map((s) => ({ label: s.name, color: s.color, dash: s.dash })).slice(0, 8)));
  out.push("</svg>");
  return out.join("");
}

/** Failover timeline: successes up, errors and timeouts stacked, per bucket; vertical marks (fault, new leader...). */
export function timelineChart(title: string, t: FailoverTrial): string {
  const f = { ...FRAME, h: 260 };
  const tl = t.timeline;
  const lastMark = Math.max(0, ...tl.marks.map((m) => m.atMs));
  // Room on the x axis for every bucket and every mark (the cluster is restored after the load stops).
  const n = Math.max(tl.ok.length, Math.ceil((lastMark - tl.startMs) / tl.bucketMs) + 2);
  const totals = tl.ok.map((v, i) => v + (tl.errors[i] ?? 0) + (tl.timeouts[i] ?? 0));
  const ticks = niceTicks(0, Math.max(1, ...totals));
  const top = ticks[ticks.length - 1]!;
  const plotH = f.h - f.top - f.bottom;
  const plotW = f.w - f.left - f.right;
  const bw = plotW / Math.max(1, n);
  const y = (v: number) => f.top + plotH * (1 - v / top);
  const xAt = (ms: number) => f.left + ((ms - tl.startMs) / tl.bucketMs) * bw;
  const out = [svgOpen("failover", title, f), yAxis(ticks, y, f, `requests / ${tl.bucketMs} ms`)];
  for (let i = 0; i < n; i++) {
    let base = 0;
    const x = n2(f.left + i * bw);
    for (const [cls, arr, color] of [
      ["ok", tl.ok, COLORS.ok],
      ["error", tl.errors, COLORS.error],
      ["timeout", tl.timeouts, COLORS.timeout],
    ] as const) {
      const v = arr[i] ?? 0;
      if (v <= 0) continue;
      out.push(`<rect class="tl ${cls}" x="${x}" y="${n2(y(base + v))}" width="${n2(Math.max(0.5, bw - 0.5))}" height="${n2(y(base) - y(base + v))}" fill="${color}"/>`);
      base += v;
    }
  }
  // x ticks every second
  const endMs = tl.startMs + n * tl.bucketMs;
  for (let ms = Math.ceil(tl.startMs / 1000) * 1000; ms <= endMs; ms += 1000) {
    out.push(`<text class="tick" x="${n2(xAt(ms))}" y="${f.h - f.bottom + 16}" text-anchor="middle">${ms / 1000}s</text>`);
  }
  tl.marks.forEach((m, i) => {
    const x = n2(xAt(m.atMs));
    out.push(`<line class="mark" x1="${x}" x2="${x}" y1="${f.top}" y2="${f.h - f.bottom}" stroke="${COLORS.mark}" stroke-dasharray="4 3"/>`);
    const nearEnd = xAt(m.atMs) > f.w - f.right - 130;
    out.push(
      `<text class="mark-label" x="${n2(xAt(m.atMs) + (nearEnd ? -3 : 3))}" y="${f.top + 10 + (i % 4) * 11}"${nearEnd ? ' text-anchor="end"' : ""}>${esc(`${m.label} ${m.atMs} ms`)}</text>`,
    );
  });
  out.push(`<line class="axis" x1="${f.left}" x2="${f.w - f.right}" y1="${f.h - f.bottom}" y2="${f.h - f.bottom}"/>`);
  out.push(
    legend(
      [
        { label: "ok", color: COLORS.ok },
        { label: "errors", color: COLORS.error },
        { label: "timeouts", color: COLORS.timeout },
      ],
      f,
    ),
  );
  out.push("</svg>");
  return out.join("");
}

function colorOf(run: TopologyRun): string {
  return run.role === "baseline" ? COLORS.baseline : COLORS.subject;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:24px;color:#0f172a;background:#fff;max-width:1360px}
h1{font-size:22px;margin:0 0 8px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px} h3{font-size:15px;margin:18px 0 6px}
p.meta{margin:2px 0;color:#334155;font-size:13px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;border:1px solid #e2e8f0;border-radius:6px;padding:6px;background:#fff}
figcaption{font-size:12px;color:#475569;max-width:630px}
svg.chart{display:block}
svg .chart-title{font-size:13px;font-weight:600;fill:#0f172a}
svg .tick,svg .value,svg .unit,svg .mark-label,svg .legend-item text{font-size:11px;fill:#334155}
svg .grid{stroke:#e2e8f0;stroke-width:1} svg .axis{stroke:#64748b;stroke-width:1} svg .whisker{stroke:#0f172a;stroke-width:1.5}
table{border-collapse:collapse;font-size:12px;margin:6px 0} th,td{border:1px solid #e2e8f0;padding:3px 6px;text-align:right} th:first-child,td:first-child{text-align:left}
th{background:#f8fafc} .warn{color:#b91c1c;font-weight:600} ul.notes{font-size:13px;color:#334155}
`;

export function renderHtml(r: BenchResultFile): string {
  const groups = groupByTopology(r);
  const loadNames: string[] = [];
  const failNames: string[] = [];
  for (const run of r.runs)
    for (const w of run.workloads) {
      if (isLoadWorkload(r, w.name)) {
        if (!loadNames.includes(w.name)) loadNames.push(w.name);
      } else if (w.family === "failover" && !failNames.includes(w.name)) failNames.push(w.name);
    }
  const servers = [...new Set(r.runs.map((x) => `${x.role}:${x.server}`))].map((s) => {
    const [role, server] = s.split(/:(.*)/s) as [string, string];
    return { role, server };
  });
  const body: string[] = [];
  body.push(`<header><h1>etcdkit benchmark — ${esc(r.startedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC"))}</h1>`);
  body.push(`<p class="meta">Run <code>${esc(r.runId)}</code>, ${fmtNum(r.durationMs / 1000, 0)} s${r.interrupted ? ' — <span class="warn">interrupted: partial results</span>' : ""}; schema ${esc(r.schema)} v${r.schemaVersion}</p>`);
  body.push(`<p class="meta">Machine: ${esc(machineLine(r))}</p>`);
  body.push(`<p class="meta">Load: ${esc(optionsLine(r))}</p>`);
  body.push(`<p class="meta">Servers: ${servers.map((s) => `<span style="color:${s.role === "baseline" ? COLORS.baseline : COLORS.subject}">■</span> ${esc(s.server)}${s.role === "baseline" ? " (baseline)" : ""}`).join(", ")}</p>`);
  if (r.notes.length) body.push(`<ul class="notes">${r.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>`);
  body.push("</header>");

  const headline = headlineTable(r);
  if (headline) {
    body.push(`<section id="headline"><h2>Headline</h2><table data-table="headline"><thead><tr>${headline.head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>`);
    for (const row of headline.rows) body.push(`<tr>${row.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`);
    body.push(`</tbody></table>${headline.notes.map((n) => `<p class="meta">${esc(n)}</p>`).join("")}</section>`);
  }

  // Throughput by topology.
  if (loadNames.length) {
    body.push(`<section id="throughput"><h2>Throughput by topology</h2><div class="charts">`);
    for (const name of loadNames) {
      if (NOTICE_WORKLOADS.has(name)) continue; // leases per second: not a figure
      const cats = groups.map((g) => `${g.members} member${g.members === 1 ? "" : "s"}${g.transport ? `, ${g.transport}` : ""}`);
      const series: BarSeries[] = servers.map((s) => {
        const runs = groups.map((g) => (s.role === "baseline" ? g.baseline : g.subject));
        const f = runs.map((run) => fig(workloadOf(run, name), "throughput"));
        return { name: s.server, color: s.role === "baseline" ? COLORS.baseline : COLORS.subject, values: f.map((x) => x?.median ?? null), lo: f.map((x) => x?.min ?? null), hi: f.map((x) => x?.max ?? null) };
      });
      body.push(`<figure>${barChart("throughput", `${name}: throughput`, cats, series, "req/s")}<figcaption>Median over the trials; whiskers: min–max.</figcaption></figure>`);
    }
    body.push("</div></section>");

    // Latency percentiles.
    body.push(`<section id="latency"><h2>Latency percentiles</h2><div class="charts">`);
    const pcts: [string, string][] = [
      ["p50", "p50Ms"],
      ["p90", "p90Ms"],
      ["p99", "p99Ms"],
      ["p99.9", "p999Ms"],
      ["max", "maxMs"],
    ];
    for (const name of loadNames) {
      const series: LineSeries[] = [];
      groups.forEach((g, gi) => {
        for (const run of [g.subject, g.baseline]) {
          const w = workloadOf(run, name);
          if (!run || !w || !w.trials.length) continue;
          series.push({ name: `${run.server} ×${g.members}`, color: colorOf(run), dash: DASHES[gi % DASHES.length], values: pcts.map(([, k]) => fig(w, k)?.median ?? null) });
        }
      });
      if (!series.length) continue;
      body.push(`<figure>${lineChart("latency", `${name}: latency percentiles`, pcts.map(([l]) => l), series, "ms (log)", true)}<figcaption>Median over the trials of each percentile (HdrHistogram, warm-up excluded).</figcaption></figure>`);
    }
    body.push("</div></section>");

    // Throughput over time (first trial).
    body.push(`<section id="series"><h2>Throughput over time</h2><div class="charts">`);
    for (const name of loadNames) {
      if (NOTICE_WORKLOADS.has(name)) continue;
      const series: LineSeries[] = [];
      let len = 0;
      groups.forEach((g, gi) => {
        for (const run of [g.subject, g.baseline]) {
          const t = workloadOf(run, name)?.trials[0] as LoadTrial | undefined;
          if (!run || !t || !t.perSecond?.length) continue;
          len = Math.max(len, t.perSecond.length);
          series.push({ name: `${run.server} ×${g.members}`, color: colorOf(run), dash: DASHES[gi % DASHES.length], values: t.perSecond });
        }
      });
      if (!series.length) continue;
      const labels = Array.from({ length: len }, (_, i) => `${i + 1}s`);
      body.push(`<figure>${lineChart("series", `${name}: successful requests per second (trial 1)`, labels, series, "req/s", false, Math.max(1, Math.ceil(len / 12)))}<figcaption>The last second is usually partial.</figcaption></figure>`);
    }
    body.push("</div></section>");
  }

  // Failover timelines.
  if (failNames.length) {
    body.push(`<section id="failover"><h2>Failover timelines</h2>`);
    for (const name of failNames) {
      const figs: string[] = [];
      for (const g of groups) {
        for (const run of [g.subject, g.baseline]) {
          const w = workloadOf(run, name);
          const t = w?.trials[0] as FailoverTrial | undefined;
          if (!run || !t || t.kind !== "failover") continue;
          const caption = `${run.server}, ${g.members} members, trial 1/${w!.trials.length}: ${t.action} on ${t.victim.name} (${t.victim.role}); new leader ${t.timeToNewLeaderMs ?? "–"} ms, first write ${t.timeToFirstWriteMs ?? "–"} ms, error window ${t.errorWindowMs} ms, ${t.failed} failed, ${t.timedOut} timed out, lost ${t.lost} of ${t.acked} acknowledged`;
          figs.push(`<figure>${timelineChart(`${name} — ${run.server} ×${g.members}`, t)}<figcaption${t.lost ? ' class="warn"' : ""}>${esc(caption)}</figcaption></figure>`);
        }
      }
      if (figs.length) body.push(`<h3>${esc(name)}</h3><div class="charts">${figs.join("")}</div>`);
    }
    body.push("</section>");
  }

  // Tables.
  body.push(`<section id="tables"><h2>Tables</h2>`);
  for (const g of groups) {
    body.push(`<h3>${g.members} member${g.members === 1 ? "" : "s"}${g.transport ? `, ${g.transport}` : ""}</h3>`);
    for (const run of [g.subject, g.baseline]) if (run && run.status !== "ok") body.push(`<p class="warn">${esc(run.server)}: ${esc(run.status)}${run.error ? ` — ${esc(run.error)}` : ""}</p>`);
    for (const t of summaryTables(r, g)) {
      body.push(`<table data-table="${esc(t.title)}"><caption>${esc(t.title)}</caption><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>`);
      for (const row of t.rows) body.push(`<tr>${row.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`);
      body.push("</tbody></table>");
    }
    const problems = problemLines(g);
    if (problems.length) body.push(`<ul class="notes">${problems.map((p) => `<li>${esc(p)}</li>`).join("")}</ul>`);
  }
  body.push("</section>");

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>etcdkit benchmark ${esc(r.runId)}</title>
<style>${CSS}</style></head>
<body>
${body.join("\n")}
</body></html>
`;
}
