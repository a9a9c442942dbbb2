/**
 * --discovery-srv on etcd 3.4.23 and etcd-ts side by side. Both use the system's resolver here: the
 * test makes a network namespace whose /etc/netns/<ns>/resolv.conf (bind-mounted by `ip netns exec`)
 * names a DNS server (test/support/srv-dns.ts) on 127.0.0.1:53 inside it, with SRV records of
 * host names (A records to 127.0.0.1) as etcd's docs use them. Needs root (skipped otherwise).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startBootstrapMember, type BootstrapMember } from "../support/bootstrap-member.js";
import type { Flavor } from "../support/launcher.js";

const NS = `srvdiff${process.pid}`;
const DOMAIN = "etcd.test";
const ROOT = process.getuid?.() === 0;
const PORTS: Record<Flavor, number[]> = { etcd: [21380, 21381, 21382], "etcd-ts": [22380, 22381, 22382] };
let dns: ChildProcess | undefined;
const started: BootstrapMember[] = [];

function inNs(cmd: string[]): { code: number; out: string } {
  const r = spawnSync("ip", ["netns", "exec", NS, ...cmd], { encoding: "utf8", timeout: 15_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

before(async () => {
  if (!ROOT) return;
  assert.equal(spawnSync("ip", ["netns", "add", NS]).status, 0);
  spawnSync("ip", ["-n", NS, "link", "set", "lo", "up"]);
  mkdirSync(`/etc/netns/${NS}`, { recursive: true });
  writeFileSync(`/etc/netns/${NS}/resolv.conf`, "nameserver 127.0.0.1\noptions attempts:2 timeout:2\n");
  const srv: Record<string, Array<{ target: string; port: number }>> = {};
  const a: Record<string, string> = {};
  for (const [flavor, ports] of Object.entries(PORTS)) {
    const zone = `${flavor === "etcd" ? "go" : "ts"}.${DOMAIN}`;
    srv[`_etcd-server-ssl._tcp.${zone}`] = ports.map((port, i) => ({ target: `m${i + 1}.${zone}`, port }));
    ports.forEach((_, i) => (a[`m${i + 1}.${zone}`] = "127.0.0.1"));
  }
  const main = fileURLToPath(new URL("../support/srv-dns-main.js", import.meta.url));
  dns = spawn("ip", ["netns", "exec", NS, process.execPath, main, "53", JSON.stringify({ srv, a })], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    dns!.stdout!.once("data", () => resolve());
    dns!.once("exit", (c) => reject(new Error(`dns server exited ${c}`)));
  });
});

after(async () => {
  await Promise.all(started.map((m) => m.dispose()));
  if (dns && dns.exitCode === null) {
    dns.kill("SIGTERM");
    await new Promise((r) => dns!.once("exit", r));
  }
  if (ROOT) {
    spawnSync("ip", ["netns", "delete", NS]);
    rmSync(`/etc/netns/${NS}`, { recursive: true, force: true });
  }
});

/** 3 members of one flavor from the SRV records of its zone; the member list as etcdctl shows it, IDs dropped. */
async function bootstrap(flavor: Flavor): Promise<{ members: unknown; bootstrapLines: unknown }> {
  const zone = `${flavor === "etcd" ? "go" : "ts"}.${DOMAIN}`;
  const members: BootstrapMember[] = [];
  for (const [i, port] of PORTS[flavor].entries()) {
    const m = await startBootstrapMember(flavor, `m${i + 1}`, {
      flags: [`--discovery-srv=${zone}`, "--peer-auto-tls"],
      peerBase: `https://m${i + 1}.${zone}`,
      peerPort: port,
      prefix: ["ip", "netns", "exec", NS],
    });
    started.push(m);
    members.push(m);
  }
  const deadline = Date.now() + 60_000;
  let list = inNs(["etcdctl", `--endpoints=${members.map((m) => m.endpoint).join(",")}`, "member", "list", "-w", "json"]);
  for (;;) {
    const health = inNs(["etcdctl", `--endpoints=${members.map((m) => m.endpoint).join(",")}`, "endpoint", "health"]);
    if (health.code === 0) break;
    if (members.some((m) => m.child.exitCode !== null) || Date.now() > deadline) assert.fail(`${flavor} did not form:\n${health.out}\n${members.map((m) => m.log().slice(-1500)).join("\n---\n")}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  list = inNs(["etcdctl", `--endpoints=${members[0]!.endpoint}`, "member", "list", "-w", "json"]);
  assert.equal(list.code, 0, list.out);
  const parsed = JSON.parse(list.out.replace(/:\s*(\d{16,})/g, ':"$1"')) as { members: Array<{ name: string; peerURLs: string[] }> };
  const shape = parsed.members.map((m) => ({ name: m.name, peerURLs: m.peerURLs.map((u) => u.replace(zone, "ZONE").replace(/:\d+$/, ":PORT")) })).sort((x, y) => x.name.localeCompare(y.name));
  const bootstrapLines = members[0]!.lines().filter((l) => l.msg === "got bootstrap from DNS for etcd-server").map((l) => String(l.node).replace(zone, "ZONE").replace(/:\d+$/, ":PORT"));
  for (const m of members) await m.dispose();
  return { members: shape, bootstrapLines };
}

test("3 members from SRV records: etcd 3.4.23 and etcd-ts form the same cluster", { skip: !ROOT && "needs root for a network namespace", timeout: 180_000 }, async () => {
  const etcd = await bootstrap("etcd");
  const ts = await bootstrap("etcd-ts");
  assert.equal((etcd.members as unknown[]).length, 3);
  assert.deepEqual(ts, etcd);
});
