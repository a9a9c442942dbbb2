/**
 * Network partitions between the hosts of a NetLab: each host's own firewall (nftables, or iptables
 * where nft is missing) drops the packets it would send to the hosts it is cut from. Packets are
 * dropped, not rejected, so TCP sees what a real partition looks like (silence, retransmissions,
 * data delivered late after the heal). Traffic with the test process (the lab gateway) is never
 * cut: clients keep reaching every host, as in the failures this simulates.
 *
 * The cut set is the only state: every change rewrites the affected hosts' rules from it, so cut,
 * heal, isolate and flap compose, and `healAll()` leaves no rule behind.
 */
import { execFileSync } from "node:child_process";
import type { LabHost, NetLab } from "./netns.js";

type Tool = "nft" | "iptables";

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const TABLE = "etp_partition";

export interface PartitionEvent {
  /** ms since the Partitions object was created. */
  readonly at: number;
  readonly what: string;
}

export class Partitions {
  /** Directed cuts, as "from>to" host names. */
  private readonly cuts = new Set<string>();
  private readonly tool: Tool;
  private readonly t0 = performance.now();
  readonly events: PartitionEvent[] = [];

  constructor(private readonly lab: NetLab) {
    if (has("nft")) this.tool = "nft";
    else if (has("iptables")) this.tool = "iptables";
    else throw new Error("neither nft (nftables) nor iptables is installed: partitions cannot be made");
  }

  /** Cuts both directions between a and b. */
  cut(a: string, b: string): void {
    this.change(`cut ${a} <-> ${b}`, () => {
      this.cuts.add(`${a}>${b}`);
      this.cuts.add(`${b}>${a}`);
    });
  }

  /** Drops what `from` sends to `to`; `to` can still send to `from`. */
  cutOneWay(from: string, to: string): void {
    this.change(`cut ${from} -> ${to}`, () => this.cuts.add(`${from}>${to}`));
  }

  /** Cuts `host` from every other host, both ways. */
  isolate(host: string): void {
    this.change(`isolate ${host}`, () => {
      for (const o of this.lab.hosts) {
        if (o.name === host) continue;
        this.cuts.add(`${host}>${o.name}`);
        this.cuts.add(`${o.name}>${host}`);
      }
    });
  }

  heal(a: string, b: string): void {
    this.change(`heal ${a} <-> ${b}`, () => {
      this.cuts.delete(`${a}>${b}`);
      this.cuts.delete(`${b}>${a}`);
    });
  }

  healAll(): void {
    this.change("heal all", () => this.cuts.clear());
  }

  /** Cuts and heals a <-> b `times` times, `upMs` connected and `downMs` cut each time; ends healed. */
  async flap(a: string, b: string, o: { times: number; upMs: number; downMs: number; stop?: () => boolean }): Promise<void> {
    for (let i = 0; i < o.times && !o.stop?.(); i++) {
      this.cut(a, b);
      await new Promise((r) => setTimeout(r, o.downMs));
      this.heal(a, b);
      await new Promise((r) => setTimeout(r, o.upMs));
    }
  }

  /** The current cuts, for logs. */
  describe(): string {
    return this.cuts.size === 0 ? "none" : [...this.cuts].sort().join(", ");
  }

  private change(what: string, mutate: () => void): void {
    const before = new Set(this.cuts);
    mutate();
    this.events.push({ at: Math.round(performance.now() - this.t0), what });
    const touched = new Set([...before, ...this.cuts].filter((c) => before.has(c) !== this.cuts.has(c)).map((c) => c.split(">")[0]!));
    for (const h of this.lab.hosts) if (touched.has(h.name)) this.apply(h);
  }

  private blockedFrom(host: LabHost): string[] {
    return this.lab.hosts.filter((o) => this.cuts.has(`${host.name}>${o.name}`)).map((o) => o.addr);
  }

  private apply(host: LabHost): void {
    const drop = this.blockedFrom(host);
    if (this.tool === "nft") {
      // "add" then "delete" makes the delete valid whether or not the table exists; one atomic batch.
      const lines = [`add table inet ${TABLE}`, `delete table inet ${TABLE}`];
      if (drop.length > 0) {
        lines.push(
          `table inet ${TABLE} {`,
          `  chain out { type filter hook output priority 0; policy accept; ip daddr { ${drop.join(", ")} } drop; }`,
          `}`,
        );
      }
      this.lab.exec(host, "nft", ["-f", "-"], lines.join("\n") + "\n");
      return;
    }
    this.lab.exec(host, "iptables", ["-F", "OUTPUT"]);
    for (const a of drop) this.lab.exec(host, "iptables", ["-A", "OUTPUT", "-d", a, "-j", "DROP"]);
  }

  /** The rules a host has now, as its firewall lists them (tests use it to prove healAll leaves none). */
  rulesOf(host: LabHost): string {
    if (this.tool === "nft") return this.lab.exec(host, "nft", ["list", "ruleset"]);
    return this.lab.exec(host, "iptables", ["-S", "OUTPUT"]).replace(/^-P OUTPUT ACCEPT\n?/m, "");
  }
}
