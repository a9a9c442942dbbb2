/**
 * Watches one service and prints a line per change, plus a round-robin pick every `--every` ms:
 *
 *   node dist/examples/service-discovery/watch-main.js --endpoints 127.0.0.1:2379 --service api
 *
 * Lines: `live a=10.0.0.1:8080 ...` at start, then `online <instance> <address>`,
 * `offline <instance> <address>`, `pick <instance> <address>` (or `pick none`). Runs until killed.
 */
import { parseArgs } from "node:util";
import { Registry, type Instance } from "./registry.js";

const { values } = parseArgs({
  options: {
    endpoints: { type: "string", default: "127.0.0.1:2379" },
    service: { type: "string", default: "api" },
    every: { type: "string", default: "1000" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(`Usage: watch-main [--service NAME] [--every MS] [--endpoints LIST]

Watches /service/<service>/ (default api) and prints "live ..." once, then "online <instance> <address>"
and "offline <instance> <address>" as instances come and go, and "pick <instance> <address>" (round
robin) every --every ms (default 1000; 0 turns picks off). Runs until SIGINT/SIGTERM.
--endpoints: comma-separated host:port or http://host:port (default 127.0.0.1:2379).
`);
  process.exit(0);
}

const show = (i: Instance) => `${i.instance} ${i.address}`;
const out = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

const registry = new Registry({ endpoints: values.endpoints! });
const watch = await registry.watch(values.service!);
out(`live ${watch.instances().map((i) => `${i.instance}=${i.address}`).join(" ") || "(none)"}`);
watch.onOnline((i) => out(`online ${show(i)}`));
watch.onOffline((i) => out(`offline ${show(i)}`));
const picker = watch.picker();
const every = Number(values.every);
if (every > 0) {
  setInterval(() => {
    const p = picker.next();
    out(p ? `pick ${show(p)}` : "pick none");
  }, every);
}
const stop = () => void registry.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
