/**
 * How peer traffic is steered through the link shapers, with NAT rules inside each host's own
 * namespace (the members keep dialling their peers' real peer URLs):
 *
 *   member on A dials B:2380
 *     → A's output nat: daddr B, dport 2380 → redirect to 127.0.0.1:<A's shaper port for B>
 *     → A's shaper (conditions A→B on what A sends, B→A on the answers) dials B:12380
 *     → B's prerouting nat: dport 12380 → redirect to B:2380, the member on B
 *
 * The shaper dials the *shaped* port (peer port + 10000) so its own connection is not caught by
 * A's redirect again. Partitions (partition.ts) drop by destination address in the filter output
 * hook, after the redirect: they cut the shaper's connection to B, as they would cut A's own.
 */
import { execFileSync } from "node:child_process";

export const SHAPED_PORT_OFFSET = 10000;
/** A host's shaper listens on 127.0.0.1:<base + peer's host number> for its link to that peer. */
export const SHAPER_PORT_BASE = 23800;
export const SHAPER_TABLE = "etp_shaper";

export interface PeerLink {
  /** 1-based host number of the peer. */
  readonly peer: number;
  readonly peerAddr: string;
  readonly peerPort: number;
  /** Where this host's shaper listens for the link (on 127.0.0.1). */
  readonly listenPort: number;
}

export const shaperPort = (peerHost: number) => SHAPER_PORT_BASE + peerHost;
export const shapedPort = (peerPort: number) => peerPort + SHAPED_PORT_OFFSET;

function hasTool(cmd: string): boolean {
  try {
    execFileSync(cmd, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export type FirewallTool = "nft" | "iptables";

export function firewallTool(): FirewallTool {
  if (hasTool("nft")) return "nft";
  if (hasTool("iptables")) return "iptables";
  throw new Error("neither nft (nftables) nor iptables is installed: links cannot be shaped or cut");
}

/** The nft script for one host: redirect its peer dials to its shaper, accept shaped dials. */
export function nftShaperScript(links: readonly PeerLink[], ownPeerPort: number): string {
  const out = links.map((l) => `    ip daddr ${l.peerAddr} tcp dport ${l.peerPort} redirect to :${l.listenPort}`);
  return [
    // "add" then "delete" makes the delete valid whether or not the table exists; one atomic batch.
    `add table ip ${SHAPER_TABLE}`,
    `delete table ip ${SHAPER_TABLE}`,
    `table ip ${SHAPER_TABLE} {`,
    `  chain out {`,
    `    type nat hook output priority -100; policy accept;`,
    ...out,
    `  }`,
    `  chain pre {`,
    `    type nat hook prerouting priority -100; policy accept;`,
    `    tcp dport ${shapedPort(ownPeerPort)} redirect to :${ownPeerPort}`,
    `  }`,
    `}`,
    "",
  ].join("\n");
}

/** The same as iptables commands (nat table), for machines without nft. */
export function iptablesShaperCommands(links: readonly PeerLink[], ownPeerPort: number): string[][] {
  return [
    ["-t", "nat", "-F", "OUTPUT"],
    ["-t", "nat", "-F", "PREROUTING"],
    ...links.map((l) => ["-t", "nat", "-A", "OUTPUT", "-d", l.peerAddr, "-p", "tcp", "--dport", String(l.peerPort), "-j", "REDIRECT", "--to-ports", String(l.listenPort)]),
    ["-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", String(shapedPort(ownPeerPort)), "-j", "REDIRECT", "--to-ports", String(ownPeerPort)],
  ];
}
