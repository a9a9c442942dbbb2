import * as hdr from "hdr-histogram-js";
import type { FigureStat, LatencySummary } from "./schema.js";

/** Latency histograms record microseconds, from 1 µs to 10 minutes, 3 significant digits. */
export function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

export function encodeHistogram(h: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(s: string): hdr.Histogram {
  const d = hdr.decodeFromCompressedBase64(s);
  const h = newHistogram();
  h.add(d);
  return h;
}

/** Record a duration given in milliseconds (fractional) into a µs histogram. */
export function recordMs(h: hdr.Histogram, ms: number): void {
  h.recordValue(Math.min(600_000_000, Math.max(1, Math.round(ms * 1000))));
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function latencySummary(h: hdr.Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, minMs: 0, meanMs: 0, stddevMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
  const q = (p: number) => r3(h.getValueAtPercentile(p) / 1000);
  return {
    count: h.totalCount,
    minMs: r3(h.minNonZeroValue / 1000),
    meanMs: r3(h.mean / 1000),
    stddevMs: r3(h.stdDeviation / 1000),
    p50Ms: q(50),
    p90Ms: q(90),
    p99Ms: q(99),
    p999Ms: q(99.9),
    maxMs: r3(h.maxValue / 1000),
  };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx]!;
}

export function figure(values: number[], unit: string, better: "higher" | "lower"): FigureStat {
  const vs = values.filter((v) => Number.isFinite(v));
  if (vs.length === 0) return { unit, better, n: 0, median: NaN, min: NaN, max: NaN, spread: 0, values: [] };
  const med = median(vs);
  const min = Math.min(...vs);
  const max = Math.max(...vs);
  const spread = med === 0 ? (max === min ? 0 : Infinity) : (max - min) / Math.abs(med);
  return { unit, better, n: vs.length, median: r3(med), min: r3(min), max: r3(max), spread: r3(spread), values: vs.map(r3) };
}

/** Keeps FigureStat JSON-safe: NaN/Infinity become null when serialised by JSON.stringify anyway; this makes it explicit. */
export function finiteOr<T>(x: number, alt: T): number | T {
  return Number.isFinite(x) ? x : alt;
}
