/**
 * One service instance as a process: registers `<service>/<instance>` -> `<address>` with a lease of
 * `--ttl` seconds and keeps it alive until the process ends. SIGTERM/SIGINT deregister (the key goes
 * at once); kill -9 leaves the lease to expire after its TTL, which is what watchers then see.
 *
 *   node dist/examples/service-discovery/instance-main.js --endpoints 127.0.0.1:2379 \
 *     --service api --instance a --address 10.0.0.1:8080 --ttl 5
 *
 * Prints one line `registered <service>/<instance> lease <id>` once the key is written.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Registry } from "./registry.js";

const { values } = parseArgs({
  options: {
    endpoints: { type: "string", default: "127.0.0.1:2379" },
    service: { type: "string" },
    instance: { type: "string" },
    address: { type: "string" },
    ttl: { type: "string", default: "5" },
    user: { type: "string" },
    "password-file": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(`Usage: instance-main --service NAME --instance NAME --address HOST:PORT [--ttl S] [--endpoints LIST]

Registers /service/<service>/<instance> = <address> under a lease of --ttl seconds (default 5) and
keeps it alive until the process ends. SIGTERM/SIGINT deregister at once; kill -9 lets the lease
expire after its TTL. --endpoints: comma-separated host:port or http://host:port (default 127.0.0.1:2379).
--user NAME --password-file FILE: a cluster with auth on (the password: the file's text less one trailing
newline, or the variable ETCDCTL_PASSWORD when --password-file is not given).
Prints "registered <service>/<instance> lease <id>" once the key is written.
`);
  process.exit(0);
}

function required(name: "service" | "instance" | "address"): string {
  const v = values[name];
  if (v === undefined || v === "") {
    process.stderr.write(`instance-main: --${name} is required\n`);
    process.exit(2);
  }
  return v;
}

const service = required("service");
const instance = required("instance");
const address = required("address");
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl < 1) {
  process.stderr.write(`instance-main: --ttl must be a whole number of seconds >= 1, got ${values.ttl}\n`);
  process.exit(2);
}

function auth(): { username: string; password: string } | undefined {
  if (values.user === undefined) return undefined;
  const file = values["password-file"];
  const password = file !== undefined ? readFileSync(file, "utf8").replace(/\r?\n$/, "") : process.env.ETCDCTL_PASSWORD;
  if (password === undefined) {
    process.stderr.write("instance-main: --user needs --password-file FILE or ETCDCTL_PASSWORD\n");
    process.exit(2);
  }
  return { username: values.user, password };
}

const credentials = auth();
const registry = new Registry({ endpoints: values.endpoints!, ...(credentials ? { auth: credentials } : {}) });
const registration = await registry.register(service, instance, address, ttl);
process.stdout.write(`registered ${service}/${instance} lease ${await registration.leaseId()}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await registration.deregister();
  } finally {
    await registry.close();
    process.exit(0);
  }
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
