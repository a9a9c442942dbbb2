/**
 * etcd's PeerURLsMapAndToken for --discovery-srv: the initial cluster of a member that has no data yet,
 * from DNS SRV records (dns-srv.ts), which must name this member.
 */
import { ConfigError } from "../config/errors.js";
import { parseInitialCluster } from "../config/parse.js";
import type { InitialMember } from "../config/member-config.js";
import type { Logger } from "../log/logger.js";
import { getDnsClusterNames, type SrvLookup, type SrvSettings } from "./dns-srv.js";

export async function initialClusterFromSrv(cfg: SrvSettings, dns: SrvLookup, logger: Logger): Promise<InitialMember[]> {
  let found: string[];
  try {
    found = await getDnsClusterNames(cfg, dns, logger);
  } catch (e) {
    logger.warn({ error: (e as Error).message }, "failed to resolve during SRV discovery");
    throw new ConfigError(`error setting up initial cluster: ${(e as Error).message}`);
  }
  for (const node of found) logger.info({ node }, "got bootstrap from DNS for etcd-server");
  const cluster = parseInitialCluster(found.join(","));
  if (!cluster.some((m) => m.name === cfg.name)) throw new ConfigError(`error setting up initial cluster: cannot find local etcd member "${cfg.name}" in SRV records`);
  return cluster;
}
