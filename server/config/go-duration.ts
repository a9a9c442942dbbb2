/**
 * Go's time.Duration as etcd's flags read and print it (`5s`, `2h0m0s`, `1m30.5s`, `300ms`), so the
 * --grpc-keepalive-* flags take exactly the values etcd takes. Values are milliseconds (fractions kept).
 */

const UNIT_NS: ReadonlyMap<string, number> = new Map([
  ["ns", 1],
  ["us", 1e3],
  ["\u00b5s", 1e3], // µ (micro sign)
  ["\u03bcs", 1e3], // μ (Greek mu)
  ["ms", 1e6],
  ["s", 1e9],
  ["m", 60e9],
  ["h", 3600e9],
]);

/** time.Duration's range: about 292 years either way. */
const MAX_NS = 2 ** 63 - 1;

/** time.ParseDuration; undefined where Go returns an error (the flag package then says "parse error"). */
export function parseGoDuration(s: string): number | undefined {
  let rest = s;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let ns = 0;
  const part = /^(\d*)(?:\.(\d*))?([^\d.]+)/;
  while (rest !== "") {
    const m = part.exec(rest);
    if (!m) return undefined;
    const [whole, int = "", frac = "", unit = ""] = m;
    if (int === "" && frac === "") return undefined; // "s", ".s"
    const perUnit = UNIT_NS.get(unit);
    if (perUnit === undefined) return undefined;
    ns += Number(int === "" ? "0" : int) * perUnit + (frac === "" ? 0 : Number(`0.${frac}`) * perUnit);
    if (ns > MAX_NS) return undefined;
    rest = rest.slice(whole.length);
  }
  return (sign * ns) / 1e6;
}

/** time.Duration.String(): what etcd prints for a duration flag (and what env files carry). */
export function formatGoDuration(ms: number): string {
  let ns = Math.round(ms * 1e6);
  if (ns === 0) return "0s";
  const sign = ns < 0 ? "-" : "";
  ns = Math.abs(ns);
  if (ns < 1e9) {
    // below a second Go picks the largest unit that keeps an integer part: ns, µs or ms
    const [div, unit] = ns < 1e3 ? [1, "ns"] : ns < 1e6 ? [1e3, "\u00b5s"] : [1e6, "ms"];
    return sign + trimFraction(ns / div) + unit;
  }
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns % 3600e9) / 60e9);
  const sec = trimFraction((ns % 60e9) / 1e9) + "s";
  if (h > 0) return `${sign}${h}h${m}m${sec}`;
  if (m > 0) return `${sign}${m}m${sec}`;
  return sign + sec;
}

function trimFraction(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(9).replace(/0+$/, "");
}
