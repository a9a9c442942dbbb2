#!/usr/bin/env node
// Every 100 ms: 40 random 4 KiB page writes into a 64 MiB file, then fdatasync (like an lmdb batch commit), for MS ms.
//   node noise.cjs [MS]   (default 20000)
const fs = require("fs");
if (process.argv[2] === "--help") { console.log("usage: node noise.cjs [MS]"); process.exit(0); }
const path = "/tmp/noise-" + process.pid + ".bin", fd = fs.openSync(path, "w+");
const pg = Buffer.alloc(4096, 3);
fs.writeSync(fd, Buffer.alloc(1), 0, 1, 64 << 20);
process.on("SIGTERM", () => { try { fs.unlinkSync(path); } catch {} process.exit(0); }); // stopped early: no file left
const end = Date.now() + Number(process.argv[2] || 20000);
(function tick() {
  for (let i = 0; i < 40; i++) fs.writeSync(fd, pg, 0, 4096, Math.floor(Math.random() * 16384) * 4096);
  fs.fdatasyncSync(fd);
  if (Date.now() < end) setTimeout(tick, 100);
  else { fs.closeSync(fd); fs.unlinkSync(path); }
})();
