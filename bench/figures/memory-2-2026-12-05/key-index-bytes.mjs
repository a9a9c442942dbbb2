// Heap bytes per key of the MVCC key index (TreeIndex: Map + SortedKeys + KeyIndex per key), keys
// written once, as after the memory workload. Run with --expose-gc:
//   node --expose-gc key-index-bytes.mjs ROOT [KEYS]   (ROOT: an etcd-ts checkout with dist/ built)
const root = process.argv[2];
if (!root || root === "--help") { console.log("usage: node --expose-gc key-index-bytes.mjs ROOT [KEYS]"); process.exit(0); }
const n = Number(process.argv[3] ?? 100000);
const { TreeIndex } = await import(`${root}/dist/server/mvcc/tree-index.js`);
globalThis.gc(); globalThis.gc();
const before = process.memoryUsage().heapUsed;
const index = new TreeIndex();
for (let i = 0; i < n; i++) index.create(`memory/${String(i).padStart(8, "0")}`).put(i + 2, 0);
globalThis.gc(); globalThis.gc();
const after = process.memoryUsage().heapUsed;
console.log(JSON.stringify({ root, keys: index.size, bytesPerKey: Math.round((after - before) / n), mib: +((after - before) / 1048576).toFixed(1) }));
