/**
 * Network conditions between namespace hosts: per directed link an added one-way delay, a jitter,
 * a loss rate and a bandwidth cap, applied by the userspace link shaper (./shaper.ts). Parsed from
 * the forms a user types ("20ms", "1.5s", "0.5%", "100mbit") and described back the same way, so
 * a result file and a report say exactly what a figure ran under.
 *
 * Links are directed: `from>to` (host indexes, 1-based). A default applies to every link; overrides
 * name one direction (`1>2:delay=50ms`) or both (`1-2:delay=50ms`).
 */

export interface LinkConditions {
  /** Added one-way delay, ms. */
  readonly delayMs: number;
  /** Each chunk's delay varies uniformly within ±jitterMs (never below 0, never reordering a stream). */
  readonly jitterMs: number;
  /** Percent of TCP segments "lost": delivered one retransmission timeout late (see shaper.ts). */
  readonly lossPct: number;
  /** Bandwidth cap in kbit/s; null: no cap. */
  readonly bandwidthKbit: number | null;
}

export interface NetworkConditions {
  /** Applies to every link without an override. */
  readonly base: LinkConditions;
  /** Directed overrides keyed "from>to" (1-based host indexes). */
  readonly links: Readonly<Record<string, LinkConditions>>;
}

export const NO_SHAPING: LinkConditions = Object.freeze({ delayMs: 0, jitterMs: 0, lossPct: 0, bandwidthKbit: null });
export const UNSHAPED: NetworkConditions = Object.freeze({ base: NO_SHAPING, links: {} });

export class ConditionsError extends Error {
  override name = "ConditionsError";
}

/** "20ms", "20", "1.5s", "250us", "0" → milliseconds. */
export function parseDuration(what: string, s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s)?\s*$/i.exec(s);
  if (!m) throw new ConditionsError(`${what}: "${s}" is not a duration (e.g. 20ms, 1.5s, 0)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? "ms").toLowerCase();
  const ms = unit === "s" ? n * 1000 : unit === "ms" ? n : n / 1000;
  if (ms > 60_000) throw new ConditionsError(`${what}: ${s} is more than a minute`);
  return Math.round(ms * 1000) / 1000;
}

/** "0.5%", "0.5" → percent (0-100). */
export function parsePercent(what: string, s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(s);
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n < 100)) throw new ConditionsError(`${what}: "${s}" is not a percentage from 0 to below 100 (e.g. 0.5%)`);
  return n;
}

const RATE_UNITS: Record<string, number> = { kbit: 1, mbit: 1000, gbit: 1_000_000, kbps: 8, mbps: 8000, gbps: 8_000_000 };

/** "100mbit", "1gbit", "500kbit", "10mbps" (bytes) → kbit/s; "none"/"0" → null. */
export function parseRate(what: string, s: string): number | null {
  if (/^\s*(none|0|unlimited)\s*$/i.test(s)) return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]bit|[kmg]bps)\s*$/i.exec(s);
  if (!m) throw new ConditionsError(`${what}: "${s}" is not a rate (e.g. 100mbit, 1gbit, 500kbit, 10mbps; none for no cap)`);
  const kbit = Number(m[1]) * RATE_UNITS[m[2]!.toLowerCase()]!;
  if (!(kbit >= 8)) throw new ConditionsError(`${what}: ${s} is below 8 kbit/s`);
  return kbit;
}

export interface ConditionFields {
  delay?: string;
  jitter?: string;
  loss?: string;
  bandwidth?: string;
}

export function linkConditions(f: ConditionFields, base: LinkConditions = NO_SHAPING, where = ""): LinkConditions {
  const w = (k: string) => `${where}${k}`;
  const c: LinkConditions = {
    delayMs: f.delay === undefined ? base.delayMs : parseDuration(w("delay"), f.delay),
    jitterMs: f.jitter === undefined ? base.jitterMs : parseDuration(w("jitter"), f.jitter),
    lossPct: f.loss === undefined ? base.lossPct : parsePercent(w("loss"), f.loss),
    bandwidthKbit: f.bandwidth === undefined ? base.bandwidthKbit : parseRate(w("bandwidth"), f.bandwidth),
  };
  if (c.jitterMs > c.delayMs) throw new ConditionsError(`${where}jitter ${c.jitterMs}ms is larger than the delay ${c.delayMs}ms (a chunk cannot arrive before it was sent)`);
  return c;
}

/**
 * A per-link override: "1-2:delay=50ms,jitter=5ms" (both directions) or "1>2:loss=1%" (one).
 * Returns the directed keys it sets, each with its conditions (unset fields from `base`).
 */
export function parseLinkOverride(spec: string, hosts: number, base: LinkConditions): [string, LinkConditions][] {
  const m = /^\s*(\d+)\s*([->])\s*(\d+)\s*:(.*)$/.exec(spec);
  if (!m) throw new ConditionsError(`--link "${spec}": expected FROM-TO:key=value,... or FROM>TO:... (host numbers, e.g. 1-2:delay=50ms)`);
  const [a, b] = [Number(m[1]), Number(m[3])];
  for (const h of [a, b]) if (!(h >= 1 && h <= hosts)) throw new ConditionsError(`--link "${spec}": host ${h} is not one of 1..${hosts}`);
  if (a === b) throw new ConditionsError(`--link "${spec}": a link joins two different hosts`);
  const fields: ConditionFields = {};
  for (const kv of m[4]!.split(",").map((x) => x.trim()).filter(Boolean)) {
    const eq = kv.indexOf("=");
    const k = kv.slice(0, eq);
    if (eq < 0 || !["delay", "jitter", "loss", "bandwidth"].includes(k)) throw new ConditionsError(`--link "${spec}": "${kv}" is not delay=, jitter=, loss= or bandwidth=`);
    fields[k as keyof ConditionFields] = kv.slice(eq + 1);
  }
  const c = linkConditions(fields, base, `--link ${a}${m[2]}${b} `);
  return m[2] === "-" ? [[`${a}>${b}`, c], [`${b}>${a}`, c]] : [[`${a}>${b}`, c]];
}

/** The conditions of the directed link from host `from` to host `to` (1-based). */
export function linkOf(nc: NetworkConditions, from: number, to: number): LinkConditions {
  return nc.links[`${from}>${to}`] ?? nc.base;
}

export function isShaped(l: LinkConditions): boolean {
  return l.delayMs > 0 || l.jitterMs > 0 || l.lossPct > 0 || l.bandwidthKbit !== null;
}

const num = (x: number) => String(Math.round(x * 1000) / 1000);

export function formatRate(kbit: number): string {
  return kbit >= 1_000_000 && kbit % 1_000_000 === 0 ? `${kbit / 1_000_000}gbit` : kbit >= 1000 && kbit % 1000 === 0 ? `${kbit / 1000}mbit` : `${num(kbit)}kbit`;
}

/** "delay 20ms ±2ms, loss 0.5%, bandwidth 100mbit" or "no shaping". */
export function describeLink(l: LinkConditions): string {
  if (!isShaped(l)) return "no added delay";
  const parts = [`delay ${num(l.delayMs)}ms${l.jitterMs ? ` ±${num(l.jitterMs)}ms` : ""}`];
  if (l.lossPct) parts.push(`loss ${num(l.lossPct)}%`);
  if (l.bandwidthKbit !== null) parts.push(`bandwidth ${formatRate(l.bandwidthKbit)}`);
  return parts.join(", ");
}

/** One line for a whole set: the default, then each override. */
export function describeConditions(nc: NetworkConditions): string {
  const over = Object.entries(nc.links).sort(([a], [b]) => a.localeCompare(b));
  return [describeLink(nc.base), ...over.map(([k, l]) => `${k}: ${describeLink(l)}`)].join("; ");
}

/** A short tag for run ids: "0ms", "20ms", "20ms±2ms,loss0.5%,100mbit", "+links". */
export function conditionsTag(nc: NetworkConditions): string {
  const b = nc.base;
  const parts = [`${num(b.delayMs)}ms${b.jitterMs ? `±${num(b.jitterMs)}ms` : ""}`];
  if (b.lossPct) parts.push(`loss${num(b.lossPct)}%`);
  if (b.bandwidthKbit !== null) parts.push(formatRate(b.bandwidthKbit));
  if (Object.keys(nc.links).length) parts.push(`+${Object.keys(nc.links).length}links`);
  return parts.join(",");
}
