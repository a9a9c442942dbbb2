#!/usr/bin/env node
// Summarizes a V8 .cpuprofile by etcd-ts subsystem: each sample's time goes to the subsystem of the
// nearest frame (leaf first, walking towards the root) that belongs to one, so Node's own frames
// (events, streams, buffers, timers, AbortSignal) count for whoever called them.
//
//   node subsystems.mjs FILE.cpuprofile [--per N] [--top N]
//
// --per N: also µs per request (N = acknowledged requests in the profiled window).
// Prints: busy time, time by subsystem, then self time by function (top N).
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h") || args.length === 0) {
  console.log("usage: subsystems.mjs FILE.cpuprofile [--per REQUESTS] [--top N]");
  process.exit(0);
}
let file, per = 0, topN = 30;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--per") per = Number(args[++i]);
  else if (args[i] === "--top") topN = Number(args[++i]);
  else file = args[i];
}

/** The subsystem a frame's source belongs to, or undefined (Node internals, natives: ask the caller). */
function subsystemOf(fn, url) {
  if (fn === "(garbage collector)") return "GC";
  if (fn === "(program)") return "(program): V8/native, no JS frame";
  if (fn === "(idle)") return "(idle)";
  if (!url) return undefined;
  const u = url.replace(/^file:\/\//, "");
  const nm = u.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (nm) {
    const p = nm[1];
    if (p === "@grpc/grpc-js") return "grpc-js + node http2";
    if (p === "protobufjs" || p === "@grpc/proto-loader" || p === "long" || p.startsWith("@protobufjs")) return "protobuf + raft-entry codec (server/pb)";
    if (p === "lmdb" || p === "msgpackr" || p === "ordered-binary") return "mvcc + backend (lmdb)";
    if (p === "prom-client" || p === "tdigest" || p === "bintrees") return "metrics";
    if (p === "pino" || p.startsWith("pino-") || p === "sonic-boom" || p === "thread-stream") return "logging";
    return `package ${p}`;
  }
  if (u.startsWith("node:internal/http2")) return "grpc-js + node http2";
  const m = u.match(/\/dist\/(server\/[^/]+)\/(?:[^/]+\/)*([^/]+)\.js$/);
  if (!m) return undefined;
  const [, dir, base] = m;
  switch (dir) {
    case "server/api":
      return u.includes("/api/grpc/") ? "api adapter (server/api/grpc)" : "api (other)";
    case "server/pb":
      return "protobuf + raft-entry codec (server/pb)";
    case "server/raft":
      return "raft";
    case "server/wal":
      return "wal";
    case "server/mvcc":
    case "server/backend":
      return "mvcc + backend (lmdb)";
    case "server/watch":
      return "watch";
    case "server/metrics":
      return "metrics";
    case "server/log":
      return "logging";
    case "server/auth":
      return "auth";
    case "server/etcdserver":
      if (base === "access" || base === "auth-apply") return "auth";
      if (base === "request-context") return "request contexts (AbortSignal, timers)";
      if (u.includes("/etcdserver/requests/")) return "etcdserver/requests";
      return "etcdserver (proposer, raft loop, applier, waits)";
    case "server/embed":
      return "embed (connection guards, listeners)";
    default:
      return dir;
  }
}

const prof = JSON.parse(readFileSync(file, "utf8"));
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const d = prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0;
  selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + Math.max(0, d));
}
const shortUrl = (url) => (url ? url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, (_, d) => (d === "node_modules" ? "nm:" : "")) : "");
const bySub = new Map();
const byFn = new Map();
let total = 0, idle = 0;
for (const [id, us] of selfUs) {
  total += us;
  const leaf = nodes.get(id).callFrame;
  if (leaf.functionName === "(idle)") {
    idle += us;
    continue;
  }
  let sub;
  for (let cur = id; cur !== undefined && sub === undefined; cur = parent.get(cur)) {
    const cf = nodes.get(cur).callFrame;
    if (cf.functionName === "(root)") break;
    sub = subsystemOf(cf.functionName, cf.url);
  }
  sub ??= "node event loop (no caller of ours)";
  bySub.set(sub, (bySub.get(sub) ?? 0) + us);
  const name = `${leaf.functionName || "(anonymous)"}${leaf.url ? ` ${shortUrl(leaf.url)}:${leaf.lineNumber + 1}` : ""}`;
  byFn.set(name, (byFn.get(name) ?? 0) + us);
}
const busy = total - idle;
const fmt = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)}% ${(us / 1000).toFixed(0).padStart(6)} ms${per ? ` ${(us / per).toFixed(1).padStart(6)} µs/put` : ""}`;
const out = [`profile: ${file.split("/").pop()}`, `window ${(total / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s${per ? `, ${per} puts: ${(busy / per).toFixed(0)} µs busy (main thread, wall) per put` : ""}`, "", "by subsystem (a sample counts for the nearest frame of ours or of a known package)"];
for (const [k, v] of [...bySub].sort((a, b) => b[1] - a[1])) out.push(`  ${fmt(v)}  ${k}`);
out.push("", `self time by function (top ${topN})`);
for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, topN)) out.push(`  ${fmt(v)}  ${k}`);
console.log(out.join("\n"));
