/**
 * Puts a link shaper on every host of a lab: one process per host (in the host's namespace, not in
 * its CPU cgroup: the shaper plays the network, not the machine) that carries the host's outgoing
 * peer links, plus the NAT rules that steer the member's peer dials through it (shaper-rules.ts).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";
import { linkOf, type NetworkConditions } from "./link-conditions.js";
import type { LabHost, LabProcess, NetLab } from "./netns.js";
import type { ShaperConfig } from "./shaper-main.js";
import type { ShaperRoute } from "./shaper.js";
import { firewallTool, iptablesShaperCommands, nftShaperScript, shapedPort, shaperPort, SHAPER_TABLE, type PeerLink } from "./shaper-rules.js";

export function shaperMainPath(): string {
  const p = join(packageRoot(), "dist", "ansible-free-scripts", "hosts", "shaper-main.js");
  if (!existsSync(p)) throw new Error(`the link shaper is not built (${p} is missing): run \`npm run build\` first`);
  return p;
}

/** Host i's routes: one per peer j, conditions i→j on what i sends and j→i on the answers. */
export function routesOf(hosts: readonly LabHost[], i: number, peerPort: number, nc: NetworkConditions): ShaperRoute[] {
  return hosts.flatMap((peer, j) =>
    j === i
      ? []
      : [{ listenHost: "127.0.0.1", listenPort: shaperPort(j + 1), targetHost: peer.addr, targetPort: shapedPort(peerPort), up: linkOf(nc, i + 1, j + 1), down: linkOf(nc, j + 1, i + 1), name: `${i + 1}>${j + 1}` }],
  );
}

export function peerLinks(hosts: readonly LabHost[], i: number, peerPort: number): PeerLink[] {
  return hosts.flatMap((peer, j) => (j === i ? [] : [{ peer: j + 1, peerAddr: peer.addr, peerPort, listenPort: shaperPort(j + 1) }]));
}

async function waitFile(f: string, p: LabProcess, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(f)) {
    if (!p.running()) throw new Error(`${what} exited before it was ready`);
    if (Date.now() > until) throw new Error(`${what} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface HostShaper {
  readonly host: LabHost;
  readonly proc: LabProcess;
  readonly routes: readonly ShaperRoute[];
}

/** Starts the shapers and installs the redirect rules; resolves once every shaper listens. */
export async function startShapers(lab: NetLab, dirOf: (h: LabHost) => string, peerPort: number, nc: NetworkConditions): Promise<HostShaper[]> {
  const main = shaperMainPath();
  const tool = firewallTool();
  const out: HostShaper[] = [];
  for (const [i, h] of lab.hosts.entries()) {
    const routes = routesOf(lab.hosts, i, peerPort, nc);
    const cfg: ShaperConfig = { routes, readyFile: join(dirOf(h), "shaper.ready") };
    const file = join(dirOf(h), "shaper.json");
    writeFileSync(file, JSON.stringify(cfg, null, 2));
    const proc = lab.spawn(h, process.execPath, [main, file], { logFile: join(dirOf(h), "shaper.log") });
    out.push({ host: h, proc, routes });
  }
  await Promise.all(out.map((s) => waitFile(join(dirOf(s.host), "shaper.ready"), s.proc, 30_000, `the link shaper of ${s.host.name}`)));
  for (const [i, h] of lab.hosts.entries()) {
    const links = peerLinks(lab.hosts, i, peerPort);
    if (tool === "nft") lab.exec(h, "nft", ["-f", "-"], nftShaperScript(links, peerPort));
    else for (const args of iptablesShaperCommands(links, peerPort)) lab.exec(h, "iptables", args);
  }
  return out;
}

/** The shaper rules a host has now (nft table or iptables nat rules), for checks. */
export function shaperRulesOf(lab: NetLab, h: LabHost): string {
  if (firewallTool() === "nft") {
    try {
      return lab.exec(h, "nft", ["list", "table", "ip", SHAPER_TABLE]);
    } catch {
      return "";
    }
  }
  return lab.exec(h, "iptables", ["-t", "nat", "-S"]);
}
