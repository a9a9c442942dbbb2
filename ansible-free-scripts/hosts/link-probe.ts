/**
 * `node link-probe.js serve ADDR PORT [PORT...] | rtt ADDR PORT COUNT | throughput ADDR PORT BYTES`:
 * measures a link between two namespace hosts, run inside them by the lab (./link-check.ts).
 *
 * - serve: a TCP server per port; a connection's first byte picks the mode: "e" echoes every byte
 *   back, "s" swallows bytes until the client half-closes, then answers their count.
 * - rtt: one connection, COUNT round trips of 64 bytes (the next one sent when the last answer is
 *   complete); prints {"samplesMs": [...], "connectMs": n} as JSON.
 * - throughput: one connection, BYTES sent as fast as the socket takes them, then half-close; the
 *   clock stops when the server's count arrives (so every byte has crossed); prints
 *   {"bytes": n, "ms": n, "mbit": n}.
 */
import { connect, createServer, type Socket } from "node:net";

const PING = 64;

function serve(addr: string, ports: number[]): void {
  for (const port of ports) {
    createServer({ noDelay: true, allowHalfOpen: true }, (s) => {
      let mode: string | null = null;
      let count = 0;
      s.on("data", (b: Buffer) => {
        if (mode === null) {
          mode = String.fromCharCode(b[0]!);
          b = b.subarray(1);
        }
        if (mode === "e") s.write(b);
        else count += b.length;
      });
      s.on("end", () => (mode === "s" ? s.end(`${count}\n`) : s.end()));
      s.on("error", () => undefined);
    }).listen(port, addr, () => process.stdout.write(`listening ${addr}:${port}\n`));
  }
}

function open(addr: string, port: number): Promise<{ s: Socket; connectMs: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const s = connect({ host: addr, port, noDelay: true, allowHalfOpen: true });
    s.setTimeout(15_000, () => s.destroy(new Error("probe connection timed out")));
    s.once("connect", () => resolve({ s, connectMs: performance.now() - t0 }));
    s.once("error", reject);
  });
}

async function rtt(addr: string, port: number, count: number): Promise<void> {
  const { s, connectMs } = await open(addr, port);
  const samples: number[] = [];
  const ping = Buffer.alloc(PING, 0x61);
  let got = 0;
  let resolveOne: (() => void) | null = null;
  s.on("data", (b: Buffer) => {
    got += b.length;
    if (got >= PING && resolveOne) {
      got -= PING;
      const r = resolveOne;
      resolveOne = null;
      r();
    }
  });
  s.write("e");
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await new Promise<void>((r) => {
      resolveOne = r;
      s.write(ping);
    });
    samples.push(Math.round((performance.now() - t) * 1000) / 1000);
  }
  s.end();
  process.stdout.write(JSON.stringify({ samplesMs: samples, connectMs: Math.round(connectMs * 1000) / 1000 }) + "\n");
}

async function throughput(addr: string, port: number, bytes: number): Promise<void> {
  const { s } = await open(addr, port);
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  let answer = "";
  s.on("data", (b: Buffer) => (answer += b.toString()));
  const done = new Promise<void>((r) => s.once("end", () => r()));
  const t0 = performance.now();
  s.write("s");
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    const part = sent + chunk.length > bytes ? chunk.subarray(0, bytes - sent) : chunk;
    if (!s.write(part)) await new Promise<void>((r) => s.once("drain", () => r()));
  }
  s.end();
  await done;
  const ms = performance.now() - t0;
  const received = Number(answer.trim());
  if (received !== bytes) throw new Error(`the server counted ${received} bytes, ${bytes} were sent`);
  process.stdout.write(JSON.stringify({ bytes, ms: Math.round(ms * 1000) / 1000, mbit: Math.round(((bytes * 8) / 1000 / ms) * 100) / 100 }) + "\n");
}

async function main(argv: string[]): Promise<void> {
  const [cmd, addr, ...rest] = argv;
  if (cmd === "serve" && addr && rest.length > 0) return serve(addr, rest.map(Number));
  if (cmd === "rtt" && addr && rest.length === 2) return rtt(addr, Number(rest[0]), Number(rest[1]));
  if (cmd === "throughput" && addr && rest.length === 2) return throughput(addr, Number(rest[0]), Number(rest[1]));
  process.stdout.write("Usage: link-probe serve ADDR PORT [PORT...] | rtt ADDR PORT COUNT | throughput ADDR PORT BYTES\n");
  process.exit(cmd === "--help" || cmd === "-h" ? 0 : 2);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`link-probe: ${(e as Error).message}\n`);
  process.exit(1);
});
