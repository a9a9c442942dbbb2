// What one 300-byte message costs the sending thread, one message per timer turn (as a raft message at 1 client):
//   node send.mjs PORT direct N   socket.write on this thread (what peer-sender.ts does)
//   node send.mjs PORT worker N   postMessage (buffer transferred) to a worker thread that owns the socket
import net from "node:net";
import { Worker } from "node:worker_threads";

const [, , port, mode, count] = process.argv;
if (mode !== "direct" && mode !== "worker") {
  console.log("usage: node send.mjs PORT direct|worker N");
  process.exit(0);
}
const N = +count;
const msg = Buffer.alloc(300, 7);
let spent = 0n, sent = 0;
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
function done() {
  const c = process.cpuUsage(cpu0);
  const wall = Number(process.hrtime.bigint() - t0) / 1e3;
  console.log(`${mode}: ${(Number(spent) / 1e3 / N).toFixed(1)} µs per message in the sending call; process CPU user ${(c.user / N).toFixed(1)} µs, sys ${(c.system / N).toFixed(1)} µs per message; ${(wall / N).toFixed(0)} µs wall per message`);
  process.exit(0);
}
function loop(send) {
  const a = process.hrtime.bigint();
  send();
  spent += process.hrtime.bigint() - a;
  if (++sent < N) setTimeout(() => loop(send), 0);
  else setTimeout(done, 50);
}
if (mode === "direct") {
  const s = net.connect({ port: +port, host: "127.0.0.1", noDelay: true }, () => loop(() => s.write(msg)));
} else {
  const w = new Worker(
    `const { parentPort } = require("node:worker_threads");
     const s = require("node:net").connect({ port: ${+port}, host: "127.0.0.1", noDelay: true }, () => parentPort.postMessage("up"));
     parentPort.on("message", (b) => s.write(Buffer.from(b)));`,
    { eval: true },
  );
  w.once("message", () =>
    loop(() => {
      const b = new Uint8Array(msg);
      w.postMessage(b, [b.buffer]);
    }),
  );
}
