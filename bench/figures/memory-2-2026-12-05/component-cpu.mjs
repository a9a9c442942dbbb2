// CPU of the two changed put-path components, old (ROOT_A) against new (ROOT_B), interleaved 5 times:
// encodeProposal of a 300-byte PutRequest (pool vs arena), and creating + putting 100,000 keys in the
// key index (arrays vs the compact generation). Prints ns per operation.
//   node component-cpu.mjs ROOT_A ROOT_B
const [a, b] = process.argv.slice(2);
if (!a || a === "--help") { console.log("usage: node component-cpu.mjs ROOT_A ROOT_B"); process.exit(0); }
const load = async (root) => ({
  root,
  entry: await import(`${root}/dist/server/pb/raft-entry.js`),
  tree: await import(`${root}/dist/server/mvcc/tree-index.js`),
});
const impls = [await load(a), await load(b)];
const payload = Buffer.alloc(300, 7);
const keys = Array.from({ length: 100000 }, (_, i) => `memory/${String(i).padStart(8, "0")}`);
function encode(m) {
  const n = 300000, t0 = process.cpuUsage();
  let sink = 0;
  for (let i = 0; i < n; i++) sink += m.entry.encodeProposal({ kind: 1, id: BigInt(i), payload }).length;
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / n + (sink < 0 ? 1 : 0);
}
function index(m) {
  const t0 = process.cpuUsage();
  const idx = new m.tree.TreeIndex();
  for (let i = 0; i < keys.length; i++) idx.create(keys[i]).put(i + 2, 0);
  for (let i = 0; i < keys.length; i++) idx.get(keys[i], 1e9);
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / keys.length;
}
const out = { encodeProposalNs: [[], []], keyIndexPutGetNs: [[], []] };
for (let r = 0; r < 5; r++) for (const i of r % 2 ? [1, 0] : [0, 1]) {
  out.encodeProposalNs[i].push(Math.round(encode(impls[i])));
  out.keyIndexPutGetNs[i].push(Math.round(index(impls[i])));
}
console.log(JSON.stringify({ a, b, ...out }));
