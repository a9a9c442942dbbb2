#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (node --cpu-prof): where the samples fall, as text and as an SVG flame graph.
//
//   node cpuprofile-summary.mjs FILE.cpuprofile [--svg OUT.svg] [--top N] [--per N] [--focus NAME]
//
// --per N divides times by N (e.g. the number of requests in the profile) and prints µs per request.
// --focus NAME keeps only stacks through a frame whose function name contains NAME.
// Text: the share of (idle), (garbage collector), (program); the self time per function (bottom-up);
// the inclusive time per function (top-down, each function counted once per stack); and per source file.
import { readFileSync, writeFileSync } from "node:fs";

function parseArgs(argv) {
  const o = { file: undefined, svg: undefined, top: 40, per: 0, focus: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--svg") o.svg = argv[++i];
    else if (a === "--top") o.top = Number(argv[++i]);
    else if (a === "--per") o.per = Number(argv[++i]);
    else if (a === "--focus") o.focus = argv[++i];
    else if (a === "-h" || a === "--help") {
      console.log("usage: cpuprofile-summary.mjs FILE.cpuprofile [--svg OUT.svg] [--top N] [--per N] [--focus NAME]");
      process.exit(0);
    } else o.file = a;
  }
  if (!o.file) throw new Error("no .cpuprofile given (--help)");
  return o;
}

function shortUrl(url) {
  if (!url) return "";
  const m = url.match(/(?:dist\/|node_modules\/)(.*)$/);
  if (m) return (url.includes("node_modules/") ? "nm:" : "") + m[1];
  return url.replace(/^file:\/\//, "").replace(/^node:/, "node:");
}

function frameName(cf) {
  const fn = cf.functionName || "(anonymous)";
  const u = shortUrl(cf.url);
  return u ? `${fn} ${u}:${cf.lineNumber + 1}` : fn;
}

const opts = parseArgs(process.argv.slice(2));
const prof = JSON.parse(readFileSync(opts.file, "utf8"));
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// sample weights: time deltas (µs) attributed to the sampled node
const selfUs = new Map();
const deltas = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) {
  const d = deltas[i + 1] ?? deltas[i] ?? 0;
  selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + Math.max(0, d));
}

function stackOf(id) {
  const s = [];
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const n = nodes.get(cur);
    if (n.callFrame.functionName === "(root)") break;
    s.push(frameName(n.callFrame));
  }
  return s.reverse();
}

const folded = new Map();
let total = 0;
for (const [id, us] of selfUs) {
  const st = stackOf(id);
  if (opts.focus && !st.some((f) => f.split(" ")[0].includes(opts.focus))) continue;
  const key = st.join(";");
  folded.set(key, (folded.get(key) ?? 0) + us);
  total += us;
}

const special = { "(idle)": 0, "(garbage collector)": 0, "(program)": 0 };
const self = new Map();
const incl = new Map();
const perFile = new Map();
for (const [key, us] of folded) {
  const st = key.split(";");
  const leaf = st[st.length - 1];
  if (leaf in special) special[leaf] += us;
  self.set(leaf, (self.get(leaf) ?? 0) + us);
  for (const f of new Set(st)) incl.set(f, (incl.get(f) ?? 0) + us);
  const file = leaf.includes(" ") ? leaf.slice(leaf.indexOf(" ") + 1).replace(/:\d+$/, "") : leaf;
  perFile.set(file, (perFile.get(file) ?? 0) + us);
}

/** server/<folder>, a package name, node:<module> with http2/streams/events kept apart, or a native frame. */
function areaOf(file) {
  if (file in special) return file;
  if (file.startsWith("server/") || file.startsWith("bench/")) return file.split("/").slice(0, 2).join("/");
  if (file.startsWith("nm:")) return "nm:" + (file.slice(3).startsWith("@") ? file.slice(3).split("/").slice(0, 2).join("/") : file.slice(3).split("/")[0]);
  if (file.startsWith("node:internal/")) return "node:" + file.slice(14).split("/")[0];
  if (file.startsWith("node:")) return file;
  return "native: " + file;
}

const busy = total - special["(idle)"];
const fmt = (us) => {
  const pct = ((100 * us) / (busy || 1)).toFixed(1).padStart(5);
  const per = opts.per ? `  ${(us / opts.per).toFixed(1).padStart(7)} µs/req` : "";
  return `${pct}% ${(us / 1000).toFixed(0).padStart(7)} ms${per}`;
};
const out = [];
out.push(`profile: ${opts.file}`);
out.push(`wall ${(total / 1e6).toFixed(2)} s, busy (not idle) ${(busy / 1e6).toFixed(2)} s${opts.per ? `, ${opts.per} requests: ${(busy / opts.per).toFixed(0)} µs busy per request` : ""}`);
out.push(`percentages below are of busy time${opts.focus ? ` (stacks through "${opts.focus}" only)` : ""}`);
for (const [k, v] of Object.entries(special)) if (k !== "(idle)") out.push(`  ${k.padEnd(22)} ${fmt(v)}`);
const top = (m, title) => {
  out.push("", title);
  for (const [k, v] of [...m].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, opts.top)) out.push(`  ${fmt(v)}  ${k}`);
};
top(self, "self time by function (bottom-up)");
top(incl, "inclusive time by function (top-down; a function counted once per stack)");
top(perFile, "self time by source file");
const perArea = new Map();
for (const [file, us] of perFile) perArea.set(areaOf(file), (perArea.get(areaOf(file)) ?? 0) + us);
top(perArea, "self time by area (server/<folder>, package, Node internal module)");
console.log(out.join("\n"));

if (opts.svg) writeFileSync(opts.svg, flameSvg(folded, opts.file));

/** A flame graph (root at the bottom) of the folded stacks, idle left out, as a standalone SVG. */
function flameSvg(stacks, title) {
  const root = { name: "all", value: 0, children: new Map() };
  for (const [key, us] of stacks) {
    const st = key.split(";");
    if (st[st.length - 1] === "(idle)") continue;
    root.value += us;
    let n = root;
    for (const f of st) {
      let c = n.children.get(f);
      if (!c) n.children.set(f, (c = { name: f, value: 0, children: new Map() }));
      c.value += us;
      n = c;
    }
  }
  const W = 1800, H = 16, minW = 0.5;
  const rects = [];
  let depthMax = 0;
  const walk = (n, x, depth) => {
    depthMax = Math.max(depthMax, depth);
    const w = (n.value / root.value) * W;
    if (w < minW) return;
    rects.push({ n, x, w, depth });
    let cx = x;
    for (const c of [...n.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      walk(c, cx, depth + 1);
      cx += (c.value / root.value) * W;
    }
  };
  walk(root, 0, 0);
  const height = (depthMax + 2) * H + 30;
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const color = (name) => {
    let h = 0;
    for (const ch of name.split(" ")[0]) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    const nm = name.includes("nm:"), nodeInternal = name.includes("node:");
    const hue = nm ? 200 + (h % 40) : nodeInternal ? 90 + (h % 40) : 10 + (h % 40);
    return `hsl(${hue},70%,${60 + (h % 15)}%)`;
  };
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="monospace" font-size="11">`,
    `<text x="4" y="14">${esc(title)} — busy ${(root.value / 1e6).toFixed(2)} s (idle left out). Red: this repository; blue: node_modules; green: Node internals. Hover for names.</text>`,
  ];
  for (const r of rects) {
    const y = height - (r.depth + 1) * H - 4;
    const label = r.w > 40 ? esc(r.n.name.slice(0, Math.floor(r.w / 6.6))) : "";
    const pct = ((100 * r.n.value) / root.value).toFixed(2);
    parts.push(
      `<g><title>${esc(r.n.name)} — ${pct}% (${(r.n.value / 1000).toFixed(1)} ms)</title><rect x="${r.x.toFixed(1)}" y="${y}" width="${r.w.toFixed(1)}" height="${H - 1}" fill="${color(r.n.name)}"/>` +
        (label ? `<text x="${(r.x + 2).toFixed(1)}" y="${y + 11}">${label}</text>` : "") +
        `</g>`,
    );
  }
  parts.push("</svg>");
  return parts.join("\n");
}
