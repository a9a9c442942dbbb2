/**
 * The command of the Kubernetes StatefulSet's etcd container (`node /app/dist/stacks/pod/entry.js`,
 * in the etcd-ts image): reads the member's settings exactly as the server will (its own parser,
 * ETCD_* environment and flags), decides how this pod starts (join.ts: restart, bootstrap, or join
 * through MemberAdd), sets ETCD_INITIAL_CLUSTER and ETCD_INITIAL_CLUSTER_STATE for a join, and then
 * runs the server in this same process (so it is PID 1's child no more than etcd would be, and
 * signals reach it directly). Shell-free on purpose: the image has no shell.
 */
import { pino } from "pino";
import { parseConfig } from "../../server/config/parse.js";
import { walDirOf } from "../../server/config/member-config.js";
import { Wal } from "../../server/wal/wal.js";
import { grpcClusterClient } from "./cluster-client.js";
import { decideStart, StartError } from "./join.js";

const log = pino({ base: { component: "pod-entry" } });

async function main(): Promise<number> {
  const parsed = parseConfig(process.argv.slice(2), process.env);
  if (parsed.action === "run" && !process.env.ETCD_CONFIG_FILE && !process.argv.some((a) => a.startsWith("--config-file"))) {
    const cfg = parsed.config;
    const decision = await decideStart(
      {
        name: cfg.name,
        peerUrls: cfg.initialAdvertisePeerUrls,
        clientUrls: cfg.advertiseClientUrls,
        initialMembers: cfg.initialCluster.map((m) => m.name),
        hasWal: Wal.exists(walDirOf(cfg)),
      },
      {
        client: grpcClusterClient(3000, cfg.clientSecurity.certFile ? { ca: cfg.clientSecurity.trustedCaFile, cert: cfg.clientSecurity.certFile, key: cfg.clientSecurity.keyFile } : undefined),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        log: (msg, fields) => log.info(fields ?? {}, msg),
      },
    );
    log.info({ member: cfg.name, start: decision.kind, ...(decision.initialCluster ? { "initial-cluster": decision.initialCluster } : {}) }, decision.reason);
    if (decision.kind === "join") {
      // Flags win over the environment in the server's parser: refuse rather than be overridden.
      if (process.argv.some((a) => /^--?initial-cluster(-state)?(=|$)/.test(a))) throw new StartError("--initial-cluster flags are set on the command line: a joining pod sets them through ETCD_* variables");
      process.env.ETCD_INITIAL_CLUSTER = decision.initialCluster!;
      process.env.ETCD_INITIAL_CLUSTER_STATE = "existing";
    }
  }
  await import("../../server/main.js");
  return 0;
}

main().catch((e: unknown) => {
  log.fatal({ error: e instanceof Error ? e.message : String(e) }, "cannot start the member");
  process.exit(1);
});
