// append 300 B + fdatasync: growing file vs fallocated vs zero-filled (same filesystem as the data dirs)
const fs = require("fs"); const { execSync } = require("child_process");
const dir = process.argv[2]; const N = +process.argv[3] || 1000;
const buf = Buffer.alloc(300, 7);
function run(name, prep) {
  const f = `${dir}/fsync-${name}`; try { fs.unlinkSync(f); } catch {}
  const fd = fs.openSync(f, "w+"); prep(fd, f); fs.fsyncSync(fd);
  const t = [];
  for (let i = 0, off = 0; i < N; i++, off += 300) { const t0 = process.hrtime.bigint(); fs.writeSync(fd, buf, 0, 300, off); fs.fdatasyncSync(fd); t.push(Number(process.hrtime.bigint() - t0) / 1000); }
  fs.closeSync(fd); fs.unlinkSync(f); t.sort((a, b) => a - b);
  console.log(name.padEnd(10), "median", t[N >> 1].toFixed(0), "µs  p90", t[Math.floor(N * 0.9)].toFixed(0), "µs  mean", (t.reduce((a, b) => a + b) / N).toFixed(0));
}
const SZ = 4 * 1024 * 1024;
for (let r = 0; r < 2; r++) {
  run("grow", () => {});
  run("fallocate", (fd, f) => execSync(`fallocate -l ${SZ} ${f}`));
  run("zeroed", (fd) => { const z = Buffer.alloc(1 << 20); for (let o = 0; o < SZ; o += z.length) fs.writeSync(fd, z, 0, z.length, o); });
}
