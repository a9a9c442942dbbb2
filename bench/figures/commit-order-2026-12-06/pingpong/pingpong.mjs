// The cost of one message round trip on a loopback TCP connection in Node, both ends (see run.sh):
//   node pingpong.mjs server PORT          echo server; prints its CPU on SIGTERM
//   node pingpong.mjs client PORT N        N round trips of 120 bytes, one at a time
import net from "node:net";

const [, , role, port, n] = process.argv;
if (role === "--help" || role === undefined) {
  console.log("usage: node pingpong.mjs server PORT | node pingpong.mjs client PORT N");
} else if (role === "server") {
  net.createServer({ noDelay: true }, (s) => s.on("data", (d) => s.write(d))).listen(+port, "127.0.0.1");
  process.on("SIGTERM", () => {
    console.log(JSON.stringify({ serverCpuUs: process.cpuUsage() }));
    process.exit(0);
  });
} else {
  const total = +n;
  const msg = Buffer.alloc(120, 1);
  let i = 0, t0 = 0n, c0;
  const s = net.connect({ port: +port, host: "127.0.0.1", noDelay: true });
  s.on("connect", () => {
    t0 = process.hrtime.bigint();
    c0 = process.cpuUsage();
    s.write(msg);
  });
  s.on("data", () => {
    if (++i < total) return void s.write(msg);
    const us = Number(process.hrtime.bigint() - t0) / 1e3;
    const c = process.cpuUsage(c0);
    console.log(`node: ${total} round trips, ${(us / total).toFixed(1)} µs each; client CPU per round trip: user ${(c.user / total).toFixed(1)} µs, sys ${(c.system / total).toFixed(1)} µs`);
    s.destroy();
  });
}
