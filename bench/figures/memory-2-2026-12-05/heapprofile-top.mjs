// Summarises a .heapprofile (V8 sampling heap profile): bytes allocated per function (self) and per
// allocation stack (the innermost frames), largest first.
//   node heapprofile-top.mjs FILE [--top N] [--depth D]
import { readFileSync } from "node:fs";
const args = process.argv.slice(2);
if (!args[0] || args[0] === "--help") { console.log("usage: heapprofile-top.mjs FILE.heapprofile [--top N] [--depth D]"); process.exit(0); }
const top = Number(args[args.indexOf("--top") + 1] || 30) || 30;
const depth = args.includes("--depth") ? Number(args[args.indexOf("--depth") + 1]) : 6;
const p = JSON.parse(readFileSync(args[0], "utf8"));
const bySelf = new Map(), byStack = new Map();
let total = 0;
const name = (cf) => `${cf.functionName || "(anon)"} ${(cf.url || "").replace(/^.*node_modules\//, "nm/").replace(/^.*\/dist\//, "")}:${cf.lineNumber + 1}`;
function walk(n, stack) {
  const s = [name(n.callFrame), ...stack];
  const self = n.selfSize;
  if (self) {
    total += self;
    bySelf.set(s[0], (bySelf.get(s[0]) || 0) + self);
    const k = s.slice(0, depth).join(" < ");
    byStack.set(k, (byStack.get(k) || 0) + self);
  }
  for (const c of n.children) walk(c, s);
}
walk(p.head, []);
const mib = (b) => (b / 1048576).toFixed(1).padStart(8);
console.log(`total sampled ${mib(total)} MiB`);
console.log(`\nby function (self)`);
for (const [k, v] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${mib(v)}  ${k}`);
console.log(`\nby stack (innermost ${depth} frames)`);
for (const [k, v] of [...byStack].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${mib(v)}  ${k}`);
