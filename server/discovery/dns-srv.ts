/**
 * --discovery-srv as etcd 3.4.23 (embed.Config.GetDNSClusterNames, pkg/srv.GetCluster): the initial
 * cluster from the SRV records `_etcd-server-ssl[-<srv-name>]._tcp.<domain>` (https peer URLs). The
 * member whose advertised peer URL resolves to a record's target:port takes this member's name; the
 * others are named "0", "1", ... until they publish their own names.
 *
 * etcd 3.4.23 looks up `_etcd-server[-<srv-name>]._tcp.<domain>` (http) too, but appends its records
 * only when that lookup *fails* (a bug fixed in later releases), and fails the start when the https
 * lookup fails: so in 3.4.23 only the https records bootstrap a cluster, and this module does the same.
 *
 * Lookups use node:dns: the system's resolver (resolv.conf), or the servers in ETCDTS_DNS_SERVERS
 * (comma-separated host[:port]) when set, so that a test can answer them from 127.0.0.1. Host names
 * are resolved through those servers first, then the system's (which reads /etc/hosts, as Go's).
 */
import { lookup } from "node:dns/promises";
import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import type { Logger } from "../log/logger.js";

export const DNS_SERVERS_ENV = "ETCDTS_DNS_SERVERS";

export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

export interface SrvLookup {
  resolveSrv(qname: string): Promise<SrvRecord[]>;
  /** host:port as Go's ResolveTCPAddr prints it ("1.2.3.4:80", "[::1]:80"). */
  resolveTcpAddr(hostPort: string): Promise<string>;
}

export class SrvError extends Error {}

/** The system's resolver, or the servers named in ETCDTS_DNS_SERVERS. */
export function srvLookupFromEnv(env: NodeJS.ProcessEnv = process.env): SrvLookup {
  const servers = (env[DNS_SERVERS_ENV] ?? "").split(",").filter((s) => s !== "");
  const resolver = new Resolver({ timeout: 5000, tries: 2 });
  if (servers.length > 0) resolver.setServers(servers);
  const serverText = () => resolver.getServers()[0] ?? "the system resolver";
  return {
    async resolveSrv(qname) {
      try {
        return await resolver.resolveSrv(qname);
      } catch (e) {
        throw new SrvError(goLookupError(qname, serverText(), e as NodeJS.ErrnoException));
      }
    },
    async resolveTcpAddr(hostPort) {
      const { host, port } = splitHostPort(hostPort);
      const ip = isIP(host) ? host : await resolveHost(host, servers.length > 0 ? resolver : undefined, serverText());
      return joinHostPort(ip, port);
    },
  };
}

async function resolveHost(host: string, resolver: Resolver | undefined, server: string): Promise<string> {
  if (resolver) {
    for (const family of [resolver.resolve4.bind(resolver), resolver.resolve6.bind(resolver)]) {
      const found = await family(host).catch(() => [] as string[]);
      if (found.length > 0) return found[0]!;
    }
  }
  try {
    const all = await lookup(host, { all: true });
    // Go's ResolveTCPAddr("tcp", ...) prefers an IPv4 address
    return (all.find((a) => a.family === 4) ?? all[0]!).address;
  } catch (e) {
    throw new SrvError(goLookupError(host, server, e as NodeJS.ErrnoException));
  }
}

/** Go's *net.DNSError text for a failed lookup. */
function goLookupError(name: string, server: string, e: NodeJS.ErrnoException): string {
  const notFound = e.code === "ENOTFOUND" || e.code === "ENODATA" || e.code === "NOTFOUND" || e.code === "NODATA";
  return `lookup ${name} on ${server}: ${notFound ? "no such host" : (e.code ?? e.message)}`;
}

function splitHostPort(hostPort: string): { host: string; port: string } {
  const m = /^\[([^\]]+)\]:(\d*)$/.exec(hostPort) ?? /^([^:]*):(\d*)$/.exec(hostPort);
  if (!m) throw new SrvError(`address ${hostPort}: missing port in address`);
  return { host: m[1]!, port: m[2]! };
}

function joinHostPort(host: string, port: string | number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** etcd's srv.GetCluster: `name=scheme://target:port` for each record of `_<service>._tcp.<domain>`. */
export async function getCluster(scheme: string, service: string, name: string, domain: string, apurls: readonly string[], dns: SrvLookup): Promise<string[]> {
  const tcp2ap = new Map<string, URL>();
  for (const u of apurls) {
    const url = new URL(u);
    tcp2ap.set(await dns.resolveTcpAddr(url.host), url);
  }
  const parts: string[] = [];
  let tempName = 0;
  let lastErr: Error | undefined;
  try {
    const records = await dns.resolveSrv(`_${service}._tcp.${domain}`);
    // Go sorts by priority (and shuffles by weight within one); records of one priority keep the answer's order here
    for (const srv of [...records].sort((a, b) => a.priority - b.priority)) {
      const target = srv.name.replace(/\.$/, "");
      let addr: string;
      try {
        addr = await dns.resolveTcpAddr(joinHostPort(target, srv.port));
      } catch (e) {
        lastErr = e as Error;
        continue;
      }
      const self = tcp2ap.get(addr);
      const n = self ? name : String(tempName++);
      const urlHost = joinHostPort(target, srv.port);
      if (self && self.protocol !== `${scheme}:`) {
        lastErr = new SrvError(`bootstrap at ${scheme}://${urlHost} from DNS for ${service} has scheme mismatch with expected peer ${goUrl(self)}`);
      } else {
        parts.push(`${n}=${scheme}://${urlHost}`);
      }
    }
  } catch (e) {
    lastErr = e as Error;
  }
  if (parts.length === 0 && lastErr) throw new SrvError(`error querying DNS SRV records for _${service} ${lastErr.message}`);
  return parts;
}

/** A URL as Go prints it: no "/" for an empty path. */
function goUrl(u: URL): string {
  return u.pathname === "/" ? `${u.protocol}//${u.host}` : u.href;
}

export interface SrvSettings {
  readonly name: string;
  readonly discoverySrv: string;
  readonly discoverySrvName: string;
  readonly initialAdvertisePeerUrls: readonly string[];
}

/** etcd 3.4.23's GetDNSClusterNames, with its two log lines (see the file comment for the http records). */
export async function getDnsClusterNames(cfg: SrvSettings, dns: SrvLookup, logger: Logger): Promise<string[]> {
  const suffix = cfg.discoverySrvName !== "" ? `-${cfg.discoverySrvName}` : "";
  const fields = (scheme: string, service: string, found: readonly string[], err: Error | undefined) => ({
    "service-scheme": scheme,
    "service-name": service,
    "server-name": cfg.name,
    "discovery-srv": cfg.discoverySrv,
    "advertise-peer-urls": cfg.initialAdvertisePeerUrls,
    "found-cluster": found,
    ...(err ? { error: err.message } : {}),
  });
  let clusterStrs: string[] = [];
  let cerr: Error | undefined;
  try {
    clusterStrs = await getCluster("https", `etcd-server-ssl${suffix}`, cfg.name, cfg.discoverySrv, cfg.initialAdvertisePeerUrls, dns);
  } catch (e) {
    cerr = e as Error;
  }
  logger.info(fields("https", `etcd-server-ssl${suffix}`, clusterStrs, cerr), "get cluster for etcd-server-ssl SRV");
  let httpErr: Error | undefined;
  try {
    await getCluster("http", `etcd-server${suffix}`, cfg.name, cfg.discoverySrv, cfg.initialAdvertisePeerUrls, dns);
  } catch (e) {
    httpErr = e as Error;
  }
  logger.info(fields("http", `etcd-server${suffix}`, clusterStrs, httpErr), "get cluster for etcd-server SRV");
  if (cerr) throw cerr;
  return clusterStrs;
}
