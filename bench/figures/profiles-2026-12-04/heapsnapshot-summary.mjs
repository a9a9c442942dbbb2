#!/usr/bin/env node
// What holds a V8 heap snapshot's memory: self size by constructor, and the dominator tree's largest
// retainers (retained size: what would be freed with the object), each with the path that reaches it.
//
//   node heapsnapshot-summary.mjs FILE.heapsnapshot [--top N]
import { readFileSync } from "node:fs";

const file = process.argv[2];
const top = Number(process.argv[process.argv.indexOf("--top") + 1]) || 30;
if (!file || file === "--help") {
  console.log("usage: heapsnapshot-summary.mjs FILE.heapsnapshot [--top N]");
  process.exit(file ? 0 : 2);
}
const snap = JSON.parse(readFileSync(file, "utf8"));
const meta = snap.snapshot.meta;
const NF = meta.node_fields.length, EF = meta.edge_fields.length;
const nTypes = meta.node_fields.indexOf("type"), nName = meta.node_fields.indexOf("name"), nSelf = meta.node_fields.indexOf("self_size"), nEdges = meta.node_fields.indexOf("edge_count");
const eType = meta.edge_fields.indexOf("type"), eName = meta.edge_fields.indexOf("name_or_index"), eTo = meta.edge_fields.indexOf("to_node");
const nodeTypes = meta.node_types[nTypes], edgeTypes = meta.edge_types[eType];
const { nodes, edges, strings } = snap;
const N = nodes.length / NF;
const firstEdge = new Uint32Array(N + 1);
for (let i = 0, e = 0; i < N; i++) {
  firstEdge[i] = e;
  e += nodes[i * NF + nEdges] * EF;
  firstEdge[i + 1] = e;
}
const typeOf = (i) => nodeTypes[nodes[i * NF + nTypes]];
const nameOf = (i) => strings[nodes[i * NF + nName]];
const selfOf = (i) => nodes[i * NF + nSelf];
const WEAK = edgeTypes.indexOf("weak"), SHORTCUT = edgeTypes.indexOf("shortcut");
const label = (i) => {
  const t = typeOf(i);
  return t === "object" || t === "closure" ? `${nameOf(i)}` : `(${t}) ${t === "string" || t === "concatenated string" ? "" : nameOf(i).slice(0, 40)}`;
};

// self size by constructor / type
const byCtor = new Map();
let total = 0;
for (let i = 0; i < N; i++) {
  const k = label(i);
  const c = byCtor.get(k) ?? { size: 0, count: 0 };
  c.size += selfOf(i);
  c.count++;
  byCtor.set(k, c);
  total += selfOf(i);
}
const mb = (b) => (b / 1048576).toFixed(1).padStart(7) + " MiB";
console.log(`${file}: ${N} nodes, self sizes total ${mb(total)}`);
console.log(`\nself size by constructor (top ${top})`);
for (const [k, v] of [...byCtor].sort((a, b) => b[1].size - a[1].size).slice(0, top)) console.log(`  ${mb(v.size)}  ${String(v.count).padStart(9)}  ${k}`);

// dominators (Cooper-Harvey-Kennedy) over a DFS from the root (node 0), weak edges left out
const order = new Int32Array(N).fill(-1); // postorder number
const post = [];
const preds = new Array(N);
{
  const stack = [0], iter = [firstEdge[0]];
  order[0] = -2;
  while (stack.length) {
    const v = stack[stack.length - 1];
    let e = iter[iter.length - 1];
    let pushed = false;
    for (; e < firstEdge[v + 1]; e += EF) {
      const et = edges[e + eType];
      if (et === WEAK || et === SHORTCUT && v !== 0) continue;
      const w = edges[e + eTo] / NF;
      (preds[w] ??= []).push(v);
      if (order[w] === -1) {
        order[w] = -2;
        iter[iter.length - 1] = e + EF;
        stack.push(w);
        iter.push(firstEdge[w]);
        pushed = true;
        break;
      }
    }
    if (!pushed) {
      stack.pop();
      iter.pop();
      order[v] = post.length;
      post.push(v);
    }
  }
}
const idom = new Int32Array(N).fill(-1);
idom[0] = 0;
const intersect = (a, b) => {
  while (a !== b) {
    while (order[a] < order[b]) a = idom[a];
    while (order[b] < order[a]) b = idom[b];
  }
  return a;
};
for (let changed = true; changed; ) {
  changed = false;
  for (let k = post.length - 1; k >= 0; k--) {
    const v = post[k];
    if (v === 0) continue;
    let d = -1;
    for (const p of preds[v] ?? []) {
      if (order[p] < 0 || idom[p] === -1) continue;
      d = d === -1 ? p : intersect(p, d);
    }
    if (d !== -1 && idom[v] !== d) {
      idom[v] = d;
      changed = true;
    }
  }
}
const retained = new Float64Array(N);
for (const v of post) retained[v] += selfOf(v);
for (const v of post) if (v !== 0 && idom[v] >= 0) retained[idom[v]] += retained[v];

/** The edge name by which `parent` holds `child` (for paths). */
function edgeName(parent, child) {
  for (let e = firstEdge[parent]; e < firstEdge[parent + 1]; e += EF) {
    if (edges[e + eTo] / NF !== child) continue;
    const t = edgeTypes[edges[e + eType]];
    return t === "element" || t === "hidden" ? `[${edges[e + eName]}]` : `.${strings[edges[e + eName]]}`;
  }
  return ".?";
}
function path(v) {
  const parts = [];
  for (let cur = v, n = 0; cur !== 0 && n < 8; n++) {
    const d = idom[cur];
    parts.unshift(`${label(d)}${edgeName(d, cur)}`);
    cur = d;
  }
  return parts.join(" → ");
}
// the largest dominator subtrees that are not synthetic roots, without listing a child of one already listed
const candidates = [];
for (let i = 1; i < N; i++) if (retained[i] > 1048576 && typeOf(i) !== "synthetic") candidates.push(i);
candidates.sort((a, b) => retained[b] - retained[a]);
console.log(`\nlargest retainers (dominator tree; retained size, self size, what, path from a GC root)`);
const shown = new Set();
let listed = 0;
for (const i of candidates) {
  let covered = false;
  for (let d = idom[i]; d > 0; d = idom[d]) if (shown.has(d) && retained[d] < 4 * retained[i]) covered = true;
  if (covered) continue;
  shown.add(i);
  console.log(`  ${mb(retained[i])} ${mb(selfOf(i))}  ${label(i)}   via ${path(i)}`);
  if (++listed >= top) break;
}
