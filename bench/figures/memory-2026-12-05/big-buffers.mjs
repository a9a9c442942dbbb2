#!/usr/bin/env node
// Buffers over 1 MiB in a heap snapshot and the path that retains each (and the ES module holding it).
//   node big-buffers.mjs FILE.heapsnapshot
import { readFileSync } from "node:fs";
const snap = JSON.parse(readFileSync(process.argv[2], "utf8"));
const m = snap.snapshot.meta, NF = m.node_fields.length, EF = m.edge_fields.length;
const { nodes, edges, strings } = snap;
const iName = m.node_fields.indexOf("name"), iSelf = m.node_fields.indexOf("self_size"), iEc = m.node_fields.indexOf("edge_count"), iType = m.node_fields.indexOf("type");
const eName = m.edge_fields.indexOf("name_or_index"), eTo = m.edge_fields.indexOf("to_node"), eType = m.edge_fields.indexOf("type");
const etypes = m.edge_types[eType];
const n = nodes.length / NF; const firstEdge = new Uint32Array(n + 1);
for (let i = 0, e = 0; i < n; i++) { firstEdge[i] = e; e += nodes[i * NF + iEc] * EF; } firstEdge[n] = edges.length;
const parents = new Map();
for (let i = 0; i < n; i++) for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += EF) {
  const to = edges[e + eTo] / NF; if (!parents.has(to)) parents.set(to, []);
  const t = etypes[edges[e + eType]]; const nm = (t === "element" || t === "hidden") ? `[${edges[e + eName]}]` : strings[edges[e + eName]];
  parents.get(to).push([i, nm]);
}
const name = (i) => strings[nodes[i * NF + iName]];
for (let i = 0; i < n; i++) if (nodes[i * NF + iSelf] > 1 << 20) {
  let path = [], cur = i;
  for (let d = 0; d < 8 && parents.get(cur); d++) { const [p, nm] = parents.get(cur).find(([p]) => !path.some(x => x.p === p)) ?? parents.get(cur)[0]; path.push({ p, s: `${name(p)}.${nm}` }); cur = p; }
  console.log((nodes[i * NF + iSelf] / 1048576).toFixed(1), name(i), "<-", path.map(x => x.s).join(" <- "), "| all parents:", (parents.get(i) ?? []).map(([p, nm]) => `${name(p)}.${nm}`).slice(0, 5).join(", "));
}
// the modules whose context holds a big buffer: print the module's script name (strings reachable from it)
for (let i = 0; i < n; i++) if (nodes[i * NF + iSelf] > 1 << 20) {
  const stack = [[i, 0]]; const seen = new Set();
  while (stack.length) { const [c, d] = stack.pop(); if (seen.has(c) || d > 6) continue; seen.add(c);
    if (name(c).startsWith("system / SourceTextModule")) {
      const kids = []; for (let e = firstEdge[c]; e < firstEdge[c + 1]; e += EF) { const to = edges[e + eTo] / NF; kids.push(name(to).slice(0, 100)); for (let e2 = firstEdge[to]; e2 < firstEdge[to + 1]; e2 += EF) kids.push("  " + name(edges[e2 + eTo] / NF).slice(0, 100)); }
      console.log("module:", kids.filter(k => /\.js|\.mjs|file:/.test(k)).slice(0, 5)); }
    for (const [p] of parents.get(c) ?? []) stack.push([p, d + 1]); }
}
