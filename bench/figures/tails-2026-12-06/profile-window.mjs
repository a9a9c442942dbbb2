#!/usr/bin/env node
// Self time by function in the last SECONDS of a V8 .cpuprofile (node --cpu-prof), so a load that ran at the end of a
// member's life can be looked at without its start-up. Samples are wall-clock: a thread descheduled inside a syscall
// counts for that syscall's frame (writeBuffer, fdatasync).
//
//   node profile-window.mjs FILE.cpuprofile [SECONDS=4] [TOP=25] [--callers NAME [DEPTH=5]]
//
// --callers NAME: instead, the call chains (DEPTH frames, leaf first) of the window's samples whose leaf is NAME.
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
if (args.length === 0 || args.includes("--help")) {
  console.log("usage: profile-window.mjs FILE.cpuprofile [SECONDS=4] [TOP=25] [--callers NAME [DEPTH=5]]");
  process.exit(0);
}
const ci = args.indexOf("--callers");
const callers = ci >= 0 ? args[ci + 1] : undefined;
const depth = ci >= 0 ? Number(args[ci + 2] ?? 5) : 0;
const [file, seconds = "4", top = "25"] = ci >= 0 ? args.slice(0, ci) : args;
const p = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const where = (cf) => `${cf.functionName || "(anonymous)"} ${cf.url.replace(/.*\/(dist|node_modules)\//, "")}:${cf.lineNumber}`;

const times = [];
let t = p.startTime;
for (const d of p.timeDeltas) times.push((t += d));
const from = p.endTime - Number(seconds) * 1e6;
const sums = new Map();
let busy = 0;
let idle = 0;
for (let i = 0; i < p.samples.length; i++) {
  if (times[i] < from) continue;
  const dt = (i + 1 < times.length ? times[i + 1] : p.endTime) - times[i];
  const node = byId.get(p.samples[i]);
  if (node.callFrame.functionName === "(idle)") {
    idle += dt;
    continue;
  }
  busy += dt;
  let key = where(node.callFrame);
  if (callers !== undefined) {
    if (node.callFrame.functionName !== callers) continue;
    const chain = [];
    for (let id = node.id, k = 0; id !== undefined && k < depth; id = parent.get(id), k++) chain.push(where(byId.get(id).callFrame));
    key = chain.join(" < ");
  }
  sums.set(key, (sums.get(key) ?? 0) + dt);
}
console.log(`${file}: last ${seconds} s, busy ${(busy / 1e3).toFixed(0)} ms, idle ${(idle / 1e3).toFixed(0)} ms`);
for (const [k, v] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) console.log(`${(v / 1e3).toFixed(1).padStart(8)} ms  ${k}`);
