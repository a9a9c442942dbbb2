#!/usr/bin/env node
// Issue 16: does preallocating a WAL segment shorten fdatasync on this machine's disk?
// Appends small records (write + fdatasync, what a follower's inline save does) to a file that is
//   grow      : empty, grows by append (etcd-ts before this change)
//   zeroed    : zeros written and fdatasynced beforehand (what Node can do without fallocate)
//   sparse    : extended by ftruncate beforehand (size set, no blocks allocated)
//   fallocate : fallocate(1) beforehand (etcd's fileutil.Preallocate, mode 0: unwritten extents)
//   zeroed+bg : like zeroed, while a worker thread zero-fills another file of --fill-mb
//               (the background pipeline preparing the next segment)
// Modes run interleaved, in a rotated order each round, each on a fresh file. Bounded: --rounds x
// modes x --syncs syncs. Prints per round and mode the latency of one write+fdatasync, the load
// average before/after and the disk's write/flush counters per sync (/sys/block/vda/stat, machine-wide),
// then a summary over all rounds (pooled percentiles, and ratios paired with "grow" in the same round).
import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";

const HELP = `usage: node fsync-prealloc.mjs [--dir DIR] [--rounds 3] [--syncs 2000] [--record 320] [--prealloc-mb 8] [--fill-mb 64] [--modes grow,zeroed,sparse,fallocate,zeroed+bg] [--gap-ms 0] [--json]
  --gap-ms: a pause between syncs (0: back to back; 5: like a member's WAL at ~100-200 puts/s).
  DIR must be on the file system under test (default: a new directory in ${tmpdir()}); it is removed at the end.`;

function parseArgs(argv) {
  const o = { dir: "", rounds: 3, syncs: 2000, record: 320, preallocMb: 8, fillMb: 64, modes: "grow,zeroed,sparse,fallocate,zeroed+bg", gapMs: 0, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--help" || a === "-h") {
      console.log(HELP);
      process.exit(0);
    } else if (a === "--dir") o.dir = v();
    else if (a === "--rounds") o.rounds = Number(v());
    else if (a === "--syncs") o.syncs = Number(v());
    else if (a === "--record") o.record = Number(v());
    else if (a === "--prealloc-mb") o.preallocMb = Number(v());
    else if (a === "--fill-mb") o.fillMb = Number(v());
    else if (a === "--modes") o.modes = v();
    else if (a === "--gap-ms") o.gapMs = Number(v());
    else if (a === "--json") o.json = true;
    else {
      console.error(`unknown argument ${a}\n${HELP}`);
      process.exit(2);
    }
  }
  for (const k of ["rounds", "syncs", "record", "preallocMb", "fillMb"]) {
    if (!(Number.isInteger(o[k]) && o[k] > 0 && o[k] <= 1e6)) throw new Error(`--${k} must be a positive integer`);
  }
  if (!(Number.isInteger(o.gapMs) && o.gapMs >= 0 && o.gapMs <= 1000)) throw new Error("--gap-ms must be an integer from 0 to 1000");
  if (o.syncs * o.record > o.preallocMb * 1048576) throw new Error("--syncs x --record exceeds --prealloc-mb");
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const MB = 1048576;
const dir = opts.dir || join(tmpdir(), `fsync-prealloc-${process.pid}`);
mkdirSync(dir, { recursive: true });
/** Whole-device counters of the disk under `dir` (machine-wide: other tenants' I/O is included). */
const DEV_STAT = "/sys/block/vda/stat";
function devStat() {
  try {
    const f = readFileSync(DEV_STAT, "utf8").trim().split(/\s+/).map(Number);
    return { writes: f[4], writeSectors: f[6], flushes: f[15] ?? NaN };
  } catch {
    return { writes: NaN, writeSectors: NaN, flushes: NaN };
  }
}
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);

function zeroFill(fd, bytes) {
  const z = Buffer.alloc(MB);
  for (let o = 0; o < bytes; o += z.length) writeSync(fd, z, 0, Math.min(z.length, bytes - o), o);
}

const PREP = {
  grow: () => {},
  zeroed: (fd) => zeroFill(fd, opts.preallocMb * MB),
  sparse: (fd) => ftruncateSync(fd, opts.preallocMb * MB),
  fallocate: (fd, file) => execFileSync("fallocate", ["-l", String(opts.preallocMb * MB), file]),
  "zeroed+bg": (fd) => zeroFill(fd, opts.preallocMb * MB),
};

/** A worker that zero-fills `file` with 1 MiB writes, fdatasync every 8 MiB, as a segment pipeline would. */
function startBackgroundFill(file) {
  const src = `
    const { parentPort, workerData } = require("node:worker_threads");
    const fs = require("node:fs");
    const fd = fs.openSync(workerData.file, "w");
    const z = Buffer.alloc(1 << 20);
    for (let i = 0; i < workerData.mb; i++) {
      fs.writeSync(fd, z, 0, z.length, i * z.length);
      if (i % 8 === 7) fs.fdatasyncSync(fd);
    }
    fs.fdatasyncSync(fd);
    fs.closeSync(fd);
    parentPort.postMessage("done");`;
  const w = new Worker(src, { eval: true, workerData: { file, mb: opts.fillMb } });
  const done = new Promise((res, rej) => {
    w.once("message", res);
    w.once("error", rej);
  });
  return done;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function stats(us) {
  const s = [...us].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s[s.length - 1], mean };
}

async function runMode(mode, round) {
  const file = join(dir, `seg-${mode}-${round}`);
  const fd = openSync(file, "w+", 0o600);
  PREP[mode](fd, file);
  fdatasyncSync(fd);
  let fill;
  let fillDoneAt = -1;
  if (mode === "zeroed+bg") fill = startBackgroundFill(join(dir, `fill-${round}`)).then(() => (fillDoneAt = lat.length));
  const buf = Buffer.alloc(opts.record, 0x61);
  const lat = [];
  const dev0 = devStat();
  for (let i = 0; i < opts.syncs; i++) {
    const t0 = process.hrtime.bigint();
    writeSync(fd, buf, 0, buf.length, i * opts.record);
    fdatasyncSync(fd);
    lat.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (opts.gapMs > 0) await new Promise((r) => setTimeout(r, opts.gapMs));
    // Let the worker's completion message through now and then (it does not need the loop to run).
    else if (fill && i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  const dev1 = devStat();
  if (fill) await fill;
  closeSync(fd);
  rmSync(file, { force: true });
  rmSync(join(dir, `fill-${round}`), { force: true });
  const per = (k) => (dev1[k] - dev0[k]) / opts.syncs;
  return { lat, fillDoneAt, dev: { writesPerSync: per("writes"), kbPerSync: per("writeSectors") / 2, flushesPerSync: per("flushes") } };
}

const modes = opts.modes.split(",").filter(Boolean);
for (const m of modes) if (!PREP[m]) throw new Error(`unknown mode ${m}`);
const pooled = Object.fromEntries(modes.map((m) => [m, []]));
const rows = [];
console.log(`dir ${dir}; ${opts.rounds} rounds x ${modes.length} modes x ${opts.syncs} syncs of ${opts.record} B${opts.gapMs ? ` ${opts.gapMs} ms apart` : ""}; preallocated ${opts.preallocMb} MiB; background fill ${opts.fillMb} MiB`);
console.log("round mode        load1 before/after   n     p50 µs  p90 µs  p99 µs  max µs  mean µs");
try {
  for (let r = 0; r < opts.rounds; r++) {
    const order = modes.map((_, i) => modes[(i + r) % modes.length]);
    for (const m of order) {
      const before = loadavg();
      const { lat, fillDoneAt, dev } = await runMode(m, r);
      const after = loadavg();
      const s = stats(lat);
      pooled[m].push(...lat);
      rows.push({ round: r, mode: m, load1Before: before[0], load1After: after[0], ...s, fillDoneAtSync: fillDoneAt, dev });
      const f = (x) => x.toFixed(0).padStart(7);
      const extra = m === "zeroed+bg" ? `  (fill done after sync ${fillDoneAt})` : "";
      const io = `  disk/sync: ${dev.writesPerSync.toFixed(2)} writes ${dev.kbPerSync.toFixed(1)} KiB ${dev.flushesPerSync.toFixed(2)} flushes`;
      console.log(`${String(r).padStart(5)} ${m.padEnd(11)} ${before[0].toFixed(2).padStart(6)} / ${after[0].toFixed(2).padEnd(10)} ${String(s.n).padEnd(5)}${f(s.p50)} ${f(s.p90)} ${f(s.p99)} ${f(s.max)} ${f(s.mean)}${io}${extra}`);
    }
  }
} finally {
  if (!opts.dir) rmSync(dir, { recursive: true, force: true });
}
console.log("\npooled over rounds:\nmode        n      p50 µs  p90 µs  p99 µs  max µs  mean µs");
const summary = {};
for (const m of modes) {
  const s = stats(pooled[m]);
  summary[m] = s;
  const f = (x) => x.toFixed(0).padStart(7);
  console.log(`${m.padEnd(11)} ${String(s.n).padEnd(6)}${f(s.p50)} ${f(s.p90)} ${f(s.p99)} ${f(s.max)} ${f(s.mean)}`);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
console.log("\npaired with grow in the same round (ratio < 1: faster than growing the file), medians over rounds:");
console.log("mode        p50 ratio  p90 ratio  mean ratio  rounds faster (mean)  disk writes/sync  KiB/sync  flushes/sync");
for (const m of modes) {
  const mine = rows.filter((x) => x.mode === m);
  const ratio = (k) => median(mine.map((x) => x[k] / rows.find((g) => g.round === x.round && g.mode === "grow")[k]));
  const faster = mine.filter((x) => x.mean < rows.find((g) => g.round === x.round && g.mode === "grow").mean).length;
  const dev = (k) => median(mine.map((x) => x.dev[k]));
  const hasGrow = modes.includes("grow");
  console.log(`${m.padEnd(11)} ${hasGrow ? ratio("p50").toFixed(2).padStart(9) : "        -"}  ${hasGrow ? ratio("p90").toFixed(2).padStart(9) : "        -"}  ${hasGrow ? ratio("mean").toFixed(2).padStart(10) : "         -"}  ${`${faster}/${mine.length}`.padStart(20)}  ${dev("writesPerSync").toFixed(2).padStart(16)}  ${dev("kbPerSync").toFixed(1).padStart(8)}  ${dev("flushesPerSync").toFixed(2).padStart(12)}`);
}
if (opts.json) console.log(JSON.stringify({ opts, rows, summary }));
