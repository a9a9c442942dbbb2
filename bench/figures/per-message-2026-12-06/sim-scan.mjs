// Runs the raft simulation (test/raft/sim) over a range of seeds, 3 members, 5, and 5 with membership
// changes, and prints the failures. Uses a checkout's compiled tests.
//   node sim-scan.mjs CHECKOUT FIRST_SEED LAST_SEED
if (process.argv.length < 5 || process.argv.includes("--help")) {
  console.log("usage: node sim-scan.mjs CHECKOUT FIRST_SEED LAST_SEED");
  process.exit(0);
}
const dir = process.argv[2]; const from = +process.argv[3], to = +process.argv[4];
const { runSimulation } = await import(`${dir}/dist/test/raft/sim/simulation.js`);
const fails = [];
for (let seed = from; seed <= to; seed++) for (const [size, conf] of [[3, false], [5, false], [5, true]]) {
  try { runSimulation({ seed, size, steps: 2000, confChanges: conf }); } catch (e) { fails.push(`${seed}/${size}/${conf}: ${String(e.message).split("\n")[0]}`); }
}
console.log(dir, "failures:", fails.length); for (const f of fails.slice(0, 12)) console.log("  ", f);
