#!/usr/bin/env node
// 2,000 appends of 320 bytes, each followed by fdatasync, 5 ms apart: to a file that grows ("grow") or into a
// file of 16 MiB written with zeros first ("zero", as a preallocated WAL segment). Prints the sync's latency.
//   node fsync-append.cjs grow|zero [PATH]     (run noise.cjs beside it for an lmdb-like batch commit every 100 ms)
const fs = require("fs");
const mode = process.argv[2], path = process.argv[3] || "/tmp/fsync-append.bin", N = 2000;
if (mode !== "grow" && mode !== "zero") { console.log("usage: node fsync-append.cjs grow|zero [PATH]"); process.exit(0); }
try { fs.unlinkSync(path); } catch {}
const fd = fs.openSync(path, "w+");
if (mode === "zero") { const z = Buffer.alloc(1 << 20); for (let i = 0; i < 16; i++) fs.writeSync(fd, z, 0, z.length, i << 20); fs.fsyncSync(fd); }
const rec = Buffer.alloc(320, 7), lat = [];
let pos = 0;
(async () => {
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    fs.writeSync(fd, rec, 0, rec.length, pos); pos += rec.length; fs.fdatasyncSync(fd);
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    await new Promise((r) => setTimeout(r, 5));
  }
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.floor(p * (N - 1))].toFixed(3);
  console.log(mode, "p50", q(0.5), "p90", q(0.9), "p99", q(0.99), "max", lat[N - 1].toFixed(3), "ms");
  fs.closeSync(fd); fs.unlinkSync(path);
})();
