/**
 * The flags of `etcdkit bench --target hosts`: sizes (--hosts), the network conditions of the peer
 * links (--delay as a list, one set of runs each; --jitter, --loss, --bandwidth, --link for every
 * set), the CPU cap per host (--host-cpu), --direct-links (no shaper) and the partition scenarios'
 * timing (--partition-ms, --flaps). Validated here, before anything starts.
 */
import { ConditionsError, linkConditions, parseDuration, parseLinkOverride, type NetworkConditions } from "../ansible-free-scripts/hosts/link-conditions.js";
import { UsageError, type FlagSpec, type FlagValues } from "./args.js";
import type { HostsOptionsRecord } from "./schema.js";

export const HOSTS_FLAGS: FlagSpec[] = [
  { name: "target", type: "string", arg: "NAME", help: 'where clusters run: "local" (processes on 127.0.0.1) or "hosts" (namespace hosts deployed over SSH, see --hosts)', default: "local" },
  { name: "hosts", type: "list", arg: "N,N", help: "--target hosts: cluster sizes, one member per namespace host (1, 3, 5, 7)", default: "3" },
  { name: "delay", type: "list", arg: "D,D", help: "--target hosts: added one-way delay on every peer link, e.g. 0ms,20ms (each value is its own set of runs)", default: "0ms" },
  { name: "jitter", type: "string", arg: "D", help: "--target hosts: ± jitter on every peer link (uniform, never reordering)", default: "0ms" },
  { name: "loss", type: "string", arg: "P", help: "--target hosts: percent of TCP segments delivered one retransmission timeout late", default: "0%" },
  { name: "bandwidth", type: "string", arg: "RATE", help: "--target hosts: bandwidth cap per peer link direction, e.g. 100mbit", default: "none" },
  { name: "link", type: "string", arg: "SPECS", help: '--target hosts: per-link overrides, "A-B:delay=50ms,jitter=5ms;A>B:loss=1%" (host numbers; - both ways, > one way)' },
  { name: "host-cpu", type: "number", arg: "CORES", help: "--target hosts: cap each host at this many cores (cgroup); without it hosts get equal CPU weights, no cap" },
  { name: "direct-links", type: "boolean", help: "--target hosts: no link shaper on the peer links (only without delay, jitter, loss, bandwidth)" },
  { name: "partition-ms", type: "int", arg: "MS", help: "partition-leader, partition-oneway: hold the partition at least this long", default: "5000" },
  { name: "flaps", type: "int", help: "partition-flap: cut/heal cycles of the leader's link to one follower", default: "5" },
];

const HOSTS_ONLY = ["hosts", "delay", "jitter", "loss", "bandwidth", "link", "host-cpu", "direct-links", "partition-ms", "flaps"];

export interface ResolvedHosts {
  readonly record: HostsOptionsRecord;
  /** One per --delay value. */
  readonly conditions: NetworkConditions[];
  readonly sizes: number[];
}

/** null unless --target hosts (or a hosts-only flag) was given. */
export function resolveHostsOptions(flags: FlagValues, sizesAllowed: readonly number[]): ResolvedHosts | null {
  // --hosts alone is enough to say where; every other hosts flag needs the target.
  const target = (flags.target as string | undefined) ?? (flags.hosts !== undefined ? "hosts" : "local");
  if (target !== "local" && target !== "hosts") throw new UsageError(`--target must be local or hosts, got "${target}" (servers that already run: --endpoints or --stack-outputs)`);
  if (target === "local") {
    const given = HOSTS_ONLY.filter((f) => flags[f] !== undefined);
    if (given.length) throw new UsageError(`--${given[0]} needs --target hosts`);
    return null;
  }
  if (flags.topologies !== undefined) throw new UsageError("--target hosts takes its cluster sizes from --hosts, not --topologies");
  if (flags.endpoints !== undefined || flags["stack-outputs"] !== undefined) throw new UsageError("--target hosts brings its own clusters up: it excludes --endpoints and --stack-outputs");
  const sizes = ((flags.hosts as string[] | undefined) ?? ["3"]).map((t) => {
    const n = Number(t);
    if (!sizesAllowed.includes(n)) throw new UsageError(`--hosts: ${t} is not a supported cluster size (${sizesAllowed.join(", ")})`);
    return n;
  });
  if (!sizes.length) throw new UsageError("--hosts is empty");
  try {
    const delays = (flags.delay as string[] | undefined) ?? ["0ms"];
    if (!delays.length) throw new UsageError("--delay is empty");
    const specs = ((flags.link as string | undefined) ?? "").split(";").map((x) => x.trim()).filter(Boolean);
    const conditions = delays.map((d) => {
      const base = linkConditions({ delay: d, jitter: flags.jitter as string | undefined, loss: flags.loss as string | undefined, bandwidth: flags.bandwidth as string | undefined }, undefined, "--");
      const links: Record<string, typeof base> = {};
      for (const spec of specs) for (const [k, c] of parseLinkOverride(spec, Math.max(...sizes), base)) links[k] = c;
      return { base, links };
    });
    const direct = Boolean(flags["direct-links"]);
    const shaped = (c: NetworkConditions) => c.base.delayMs > 0 || c.base.jitterMs > 0 || c.base.lossPct > 0 || c.base.bandwidthKbit !== null || Object.keys(c.links).length > 0;
    if (direct && conditions.some(shaped)) throw new UsageError("--direct-links leaves the peer links unshaped: it excludes --delay above 0, --jitter, --loss, --bandwidth and --link");
    const cores = flags["host-cpu"] as number | undefined;
    if (cores !== undefined && !(cores > 0)) throw new UsageError(`--host-cpu must be > 0 cores, got ${cores}`);
    const partitionMs = (flags["partition-ms"] as number | undefined) ?? 5000;
    const flaps = (flags.flaps as number | undefined) ?? 5;
    if (!(partitionMs >= 100)) throw new UsageError("--partition-ms must be at least 100");
    if (!(flaps >= 1)) throw new UsageError("--flaps must be at least 1");
    const b = conditions[0]!.base;
    return {
      sizes,
      conditions,
      record: {
        delaysMs: delays.map((d) => parseDuration("--delay", d)),
        jitterMs: b.jitterMs,
        lossPct: b.lossPct,
        bandwidthKbit: b.bandwidthKbit,
        links: specs,
        coresPerHost: cores ?? null,
        shaper: !direct,
        partitionMs,
        flaps,
      },
    };
  } catch (e) {
    if (e instanceof ConditionsError) throw new UsageError(e.message);
    throw e;
  }
}
