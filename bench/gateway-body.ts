/**
 * `node dist/bench/gateway-body.js`: how a server's JSON gateway copes with a large streamed body
 * (time and the server's memory), for the streaming routes' request side. The body is generated
 * as it is sent (the client holds none of it); the server's RSS is sampled from /proc/PID/status.
 */
import { request } from "node:http";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { formatHelp, parseFlags, UsageError, type FlagSpec } from "./args.js";

const FLAGS: FlagSpec[] = [
  { name: "url", type: "string", arg: "URL", help: "the server's client URL", default: "http://127.0.0.1:2379" },
  { name: "route", type: "string", arg: "watch|keepalive", help: "the streaming route", default: "watch" },
  { name: "shape", type: "string", arg: "SHAPE", help: "big-field: one watch request with an N MiB bytes field; unknown-field: one request with an N MiB unknown field; many: N MiB of small requests", default: "big-field" },
  { name: "mib", type: "number", help: "body size in MiB", default: "48" },
  { name: "pid", type: "int", help: "the server's process ID, to sample its RSS (peak reported)" },
  { name: "timeout", type: "number", arg: "SECONDS", help: "give up after this long", default: "900" },
];
const USAGE = "node dist/bench/gateway-body.js [options]";
const DESCRIPTION =
  "Streams a large body to /v3/watch or /v3/lease/keepalive and reports the status, the first bytes of the answer,\n" +
  "the seconds until the first answer line (a single request: the time to parse it) or until the answer ended (many\n" +
  "requests), and with --pid the server's peak RSS while it ran (VmHWM and the largest VmRSS sampled).";

const CHUNK = 64 * 1024;

/** The body as a stream: `head`, then `size` bytes of `fill` (repeated `unit` for many), then `tail`. */
function body(head: string, unit: string, size: number, tail: string): Readable {
  let left = size;
  let sentHead = false;
  const block = Buffer.from(unit.repeat(Math.max(1, Math.floor(CHUNK / unit.length))));
  return new Readable({
    read() {
      if (!sentHead) {
        sentHead = true;
        this.push(head);
        return;
      }
      if (left <= 0) {
        if (tail) this.push(tail);
        this.push(null);
        return;
      }
      const n = Math.min(left, block.length);
      left -= n;
      this.push(block.subarray(0, n - (n % unit.length) || n));
    },
  });
}

function shapeOf(route: string, shape: string, size: number): Readable {
  if (shape === "many") return route === "watch" ? body("", '{"progress_request":{}}', size, "") : body("", '{"ID":"1"}', size, "");
  if (shape === "big-field") {
    if (route !== "watch") throw new UsageError("--shape big-field is for --route watch (a keep-alive has no bytes field)");
    return body('{"create_request":{"key":"', "A", size, '"}}');
  }
  if (shape === "unknown-field") return route === "watch" ? body('{"create_request":{"key":"YQ=="},"pad":"', "A", size, '"}') : body('{"ID":"1","pad":"', "A", size, '"}');
  throw new UsageError(`unknown --shape ${shape}`);
}

function rssOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

export async function main(argv: string[]): Promise<number> {
  const { flags, help } = parseFlags(argv, FLAGS);
  if (help) {
    process.stdout.write(formatHelp(USAGE, DESCRIPTION, FLAGS));
    return 0;
  }
  const route = (flags.route as string | undefined) ?? "watch";
  if (route !== "watch" && route !== "keepalive") throw new UsageError(`unknown --route ${route}`);
  const shape = (flags.shape as string | undefined) ?? "big-field";
  const size = Math.round(((flags.mib as number | undefined) ?? 48) * 1024 * 1024);
  const pid = flags.pid as number | undefined;
  const url = new URL(route === "watch" ? "/v3/watch" : "/v3/lease/keepalive", (flags.url as string | undefined) ?? "http://127.0.0.1:2379");
  let peakRss = 0;
  const sampler = pid === undefined ? undefined : setInterval(() => (peakRss = Math.max(peakRss, rssOf(pid)?.rss ?? 0)), 100);
  const start = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
  let lines = 0;
  const result = await new Promise<{ status: number | string; first: string; at: number; ended: boolean }>((resolve) => {
    const timer = setTimeout(() => resolve({ status: "timeout", first: "", at: seconds(), ended: false }), ((flags.timeout as number | undefined) ?? 900) * 1000);
    const req = request(url, { method: "POST", headers: { "transfer-encoding": "chunked" } }, (res) => {
      let first = "";
      res.on("data", (c: Buffer) => {
        if (first.length < 200) first += c.toString();
        for (const byte of c) if (byte === 0x0a) lines++;
        // a single request: its first answer line is the measure (a watch then stays open)
        if (shape !== "many" && lines > 0) {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, first: first.slice(0, 200), at: seconds(), ended: false });
          req.destroy();
        }
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, first: first.slice(0, 200), at: seconds(), ended: true });
      });
    });
    req.on("error", (e) => {
      clearTimeout(timer);
      resolve({ status: `error ${e.message}`, first: "", at: seconds(), ended: false });
    });
    shapeOf(route, shape, size).pipe(req);
  });
  if (sampler) clearInterval(sampler);
  const mem = pid === undefined ? undefined : rssOf(pid);
  const out = { route, shape, mib: size / 1024 / 1024, status: result.status, seconds: Number(result.at.toFixed(2)), ended: result.ended, answerLines: lines, answer: result.first, ...(mem ? { peakRssMiB: Math.round(Math.max(peakRss, mem.rss)), vmHwmMiB: Math.round(mem.hwm) } : {}) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`gateway-body: ${(e as Error).message}\n`);
      process.exit(e instanceof UsageError ? 2 : 1);
    },
  );
}
