// inclusive.mjs FILE.cpuprofile [PATTERN] [--per N]: inclusive time of each function whose url matches PATTERN (default /dist/server/)
import { readFileSync } from "node:fs";
const a = process.argv.slice(2);
if (a.length === 0 || a[0] === "--help") { console.log("usage: inclusive.mjs FILE.cpuprofile [URL_REGEX] [--per REQUESTS]: inclusive (self + callees) time of each function whose script URL matches (default /dist/server/), top 45"); process.exit(0); } const file = a[0]; const pat = new RegExp(a[1] && !a[1].startsWith("--") ? a[1] : "/dist/server/");
const per = a.includes("--per") ? Number(a[a.indexOf("--per") + 1]) : 0;
const prof = JSON.parse(readFileSync(file, "utf8"));
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map(); for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map(); for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i + 1] ?? 0));
const inc = new Map();
for (const [id, us] of self) {
  const seen = new Set();
  for (let c = id; c !== undefined; c = parent.get(c)) {
    const cf = nodes.get(c).callFrame; if (!pat.test(cf.url)) continue;
    const k = `${cf.functionName || "(anon)"} ${cf.url.replace(/.*\/dist\//, "")}:${cf.lineNumber + 1}`;
    if (seen.has(k)) continue; seen.add(k); inc.set(k, (inc.get(k) ?? 0) + us);
  }
}
for (const [k, v] of [...inc].sort((x, y) => y[1] - x[1]).slice(0, 45)) console.log(`${(v / 1000).toFixed(0).padStart(6)} ms ${per ? (v / per).toFixed(1).padStart(6) + " µs" : ""}  ${k}`);
