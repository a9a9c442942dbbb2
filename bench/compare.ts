/**
 * Comparing two result files figure by figure: b relative to a (ratio b/a), and a flag when the difference
 * is beyond the measured spread: |b - a| larger than the wider of the two min–max ranges over the trials,
 * and larger than the relative threshold (default 5%).
 */
import type { BenchResultFile, FigureStat, WorkloadResult } from "./schema.js";
import { fmtNum } from "./report-common.js";

export type Verdict = "regression" | "improvement" | "same" | "info";

export interface ComparisonRow {
  run: string;
  workload: string;
  figure: string;
  unit: string;
  better: "higher" | "lower";
  a: FigureStat;
  b: FigureStat;
  ratio: number | null;
  change: number | null;
  verdict: Verdict;
}

export interface Comparison {
  rows: ComparisonRow[];
  regressions: ComparisonRow[];
  improvements: ComparisonRow[];
  onlyInA: string[];
  onlyInB: string[];
  threshold: number;
}

/** Client-side figures: shown, never flagged. */
const INFORMATIONAL = new Set(["clientCpuPct"]);

export function verdictOf(figure: string, a: FigureStat, b: FigureStat, threshold: number): Verdict {
  if (INFORMATIONAL.has(figure)) return "info";
  const diff = b.median - a.median;
  if (diff === 0) return "same";
  const noise = Math.max(a.max - a.min, b.max - b.min, 0);
  const rel = a.median === 0 ? Infinity : Math.abs(diff) / Math.abs(a.median);
  if (Math.abs(diff) <= noise || rel <= threshold) return "same";
  const worse = a.better === "lower" ? diff > 0 : diff < 0;
  return worse ? "regression" : "improvement";
}

/** "put@100" → "put"; results of a run with several load shapes carry "@<clients>". */
const baseName = (name: string): string => name.replace(/@\d+$/, "");

/**
 * b's result for a's workload: the same name, else the same workload at the same number of clients (a run with
 * one shape names it "put", one with several "put@16": both are put at 16 clients when params.clients says so).
 */
export function matchWorkload(wa: WorkloadResult, candidates: WorkloadResult[]): WorkloadResult | undefined {
  const same = candidates.find((w) => w.name === wa.name);
  if (same) return same;
  const clients = wa.params?.clients;
  if (typeof clients !== "number") return undefined;
  return candidates.find((w) => baseName(w.name) === baseName(wa.name) && w.params?.clients === clients && (w.name !== baseName(w.name) || wa.name !== baseName(wa.name)));
}

export function compareResults(a: BenchResultFile, b: BenchResultFile, threshold = 0.05): Comparison {
  const rows: ComparisonRow[] = [];
  const onlyInA: string[] = [];
  const onlyInB: string[] = [];
  const key = (run: string, w: string) => `${run} ${w}`;
  const bRuns = new Map(b.runs.map((r) => [r.id, r]));
  const seen = new Set<string>();
  for (const ra of a.runs) {
    const rb = bRuns.get(ra.id);
    for (const wa of ra.workloads) {
      const wb = rb ? matchWorkload(wa, rb.workloads) : undefined;
      seen.add(key(ra.id, wa.name));
      if (wb) seen.add(key(ra.id, wb.name));
      if (!wb || !wb.trials.length) {
        if (wa.trials.length) onlyInA.push(key(ra.id, wa.name));
        continue;
      }
      for (const [fname, fa] of Object.entries(wa.summary ?? {})) {
        const fb = wb.summary?.[fname];
        if (!fb || !Number.isFinite(fa?.median) || !Number.isFinite(fb?.median)) continue;
        rows.push({
          run: ra.id,
          workload: wa.name,
          figure: fname,
          unit: fa.unit,
          better: fa.better,
          a: fa,
          b: fb,
          ratio: fa.median === 0 ? null : fb.median / fa.median,
          change: fa.median === 0 ? null : (fb.median - fa.median) / Math.abs(fa.median),
          verdict: verdictOf(fname, fa, fb, threshold),
        });
      }
    }
  }
  for (const rb of b.runs) for (const wb of rb.workloads) if (!seen.has(key(rb.id, wb.name)) && wb.trials.length) onlyInB.push(key(rb.id, wb.name));
  return { rows, regressions: rows.filter((r) => r.verdict === "regression"), improvements: rows.filter((r) => r.verdict === "improvement"), onlyInA, onlyInB, threshold };
}

export function formatComparison(c: Comparison, aName: string, bName: string): string {
  const out: string[] = [];
  out.push(`Comparing ${bName} (b) against ${aName} (a): ratio = b / a; flagged when the difference exceeds both the trials' min–max spread and ${Math.round(c.threshold * 100)}%.`);
  let last = "";
  const head = ["figure", "a", "b", "ratio", "change", ""];
  let table: string[][] = [];
  const flush = () => {
    if (!table.length) return;
    const w = head.map((_, i) => Math.max(...[head, ...table].map((r) => r[i]!.length)));
    out.push([head, ...table].map((r) => r.map((c2, i) => (i === 0 ? c2.padEnd(w[i]!) : c2.padStart(w[i]!))).join("  ").trimEnd()).join("\n"));
    table = [];
  };
  for (const r of c.rows) {
    const k = `${r.run} ${r.workload}`;
    if (k !== last) {
      flush();
      out.push("", `== ${k}`);
      last = k;
    }
    const flag = r.verdict === "regression" ? "REGRESSION" : r.verdict === "improvement" ? "improved" : "";
    table.push([
      `${r.figure} (${r.unit})`,
      fmtNum(r.a.median),
      fmtNum(r.b.median),
      r.ratio === null ? "–" : `${r.ratio.toFixed(2)}×`,
      r.change === null ? "–" : `${r.change >= 0 ? "+" : ""}${(r.change * 100).toFixed(1)}%`,
      flag,
    ]);
  }
  flush();
  if (c.onlyInA.length) out.push("", `Only in ${aName}: ${c.onlyInA.join(", ")}`);
  if (c.onlyInB.length) out.push("", `Only in ${bName}: ${c.onlyInB.join(", ")}`);
  out.push("", `${c.regressions.length} regression(s), ${c.improvements.length} improvement(s) over ${c.rows.length} figures.`);
  for (const r of c.regressions) out.push(`  REGRESSION ${r.run} ${r.workload} ${r.figure}: ${fmtNum(r.a.median)} → ${fmtNum(r.b.median)} ${r.unit}`);
  return `${out.join("\n")}\n`;
}
