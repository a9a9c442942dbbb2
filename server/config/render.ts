import { FLAG_BY_NAME, envNameOf } from "./flag-table.js";
import { formatInitialCluster, type MemberConfig } from "./member-config.js";
import { formatGoDuration } from "./go-duration.js";

/** A member's settings by flag name, as strings: the form env files, unit files and command lines carry. */
export function toSettings(cfg: MemberConfig): Record<string, string> {
  const s: Record<string, string> = {
    name: cfg.name,
    "data-dir": cfg.dataDir,
    "wal-dir": cfg.walDir,
    "listen-client-urls": cfg.listenClientUrls.join(","),
    "advertise-client-urls": cfg.advertiseClientUrls.join(","),
    "listen-peer-urls": cfg.listenPeerUrls.join(","),
    "initial-advertise-peer-urls": cfg.initialAdvertisePeerUrls.join(","),
    "initial-cluster": formatInitialCluster(cfg.initialCluster),
    "initial-cluster-token": cfg.initialClusterToken,
    "initial-cluster-state": cfg.initialClusterState,
    "heartbeat-interval": String(cfg.heartbeatIntervalMs),
    "election-timeout": String(cfg.electionTimeoutMs),
    "snapshot-count": String(cfg.snapshotCount),
    "max-snapshots": String(cfg.maxSnapshots),
    "max-wals": String(cfg.maxWals),
    "quota-backend-bytes": String(cfg.quotaBackendBytes),
    "max-request-bytes": String(cfg.maxRequestBytes),
    "max-txn-ops": String(cfg.maxTxnOps),
    "auto-compaction-mode": cfg.autoCompactionMode,
    "auto-compaction-retention": cfg.autoCompactionRetention,
    "pre-vote": String(cfg.preVote),
    "strict-reconfig-check": String(cfg.strictReconfigCheck),
    "log-level": cfg.logLevel,
    "log-outputs": cfg.logOutputs.join(","),
    "listen-metrics-urls": cfg.listenMetricsUrls.join(","),
    metrics: cfg.metrics,
    "grpc-keepalive-min-time": formatGoDuration(cfg.grpcKeepAliveMinTimeMs),
    "grpc-keepalive-interval": formatGoDuration(cfg.grpcKeepAliveIntervalMs),
    "grpc-keepalive-timeout": formatGoDuration(cfg.grpcKeepAliveTimeoutMs),
    ...securitySettings(cfg),
    "max-concurrent-streams": String(cfg.maxConcurrentStreams),
    "initial-election-tick-advance": String(cfg.initialElectionTickAdvance),
    discovery: cfg.discovery,
    "discovery-fallback": cfg.discoveryFallback,
    "discovery-proxy": cfg.discoveryProxy,
    "discovery-srv": cfg.discoverySrv,
    "discovery-srv-name": cfg.discoverySrvName,
    cors: cfg.cors.join(","),
    "host-whitelist": cfg.hostWhitelist.join(","),
    "auth-token": cfg.authToken ?? "simple",
    "auth-token-ttl": String(cfg.authTokenTtlSeconds ?? 300),
    "bcrypt-cost": String(cfg.bcryptCost ?? 10),
    "backend-batch-interval": formatGoDuration(cfg.backendBatchIntervalMs),
    "backend-batch-limit": String(cfg.backendBatchLimit),
    "experimental-compaction-batch-limit": String(cfg.experimentalCompactionBatchLimit),
    "experimental-watch-progress-notify-interval": formatGoDuration(cfg.experimentalWatchProgressNotifyIntervalMs),
    "experimental-warning-apply-duration": formatGoDuration(cfg.experimentalWarningApplyDurationMs),
    "experimental-initial-corrupt-check": String(cfg.experimentalInitialCorruptCheck),
    "experimental-corrupt-check-time": formatGoDuration(cfg.experimentalCorruptCheckTimeMs),
    "experimental-enable-lease-checkpoint": String(cfg.experimentalEnableLeaseCheckpoint),
    "force-new-cluster": String(cfg.forceNewCluster),
  };
  // With discovery, --initial-cluster is not given (etcd refuses both together).
  if (cfg.discovery !== "" || cfg.discoverySrv !== "") delete s["initial-cluster"];
  // Only what differs from etcd's defaults, so rendered files read like the ones in etcd's guides.
  return Object.fromEntries(Object.entries(s).filter(([k, v]) => v !== FLAG_BY_NAME.get(k)!.default && !(v === "" && FLAG_BY_NAME.get(k)!.default === "")));
}

/** The TLS flags of both sides, as strings (toSettings drops the ones left at etcd's defaults). */
function securitySettings(cfg: MemberConfig): Record<string, string> {
  const c = cfg.clientSecurity;
  const p = cfg.peerSecurity;
  return {
    "cert-file": c.certFile,
    "key-file": c.keyFile,
    "trusted-ca-file": c.trustedCaFile,
    "client-cert-auth": String(c.clientCertAuth),
    "auto-tls": String(c.autoTls),
    "client-crl-file": c.crlFile,
    "client-cert-allowed-hostname": c.allowedHostname,
    "peer-cert-file": p.certFile,
    "peer-key-file": p.keyFile,
    "peer-trusted-ca-file": p.trustedCaFile,
    "peer-client-cert-auth": String(p.clientCertAuth),
    "peer-auto-tls": String(p.autoTls),
    "peer-crl-file": p.crlFile,
    "peer-cert-allowed-cn": p.allowedCn,
    "peer-cert-allowed-hostname": p.allowedHostname,
    "experimental-peer-skip-client-san-verification": String(p.skipClientSanVerify),
    "cipher-suites": cfg.cipherSuites.join(","),
  };
}

/** `ETCD_NAME=infra0` lines, as in etcd's clustering guide and systemd EnvironmentFile=. */
export function toEnvFile(cfg: MemberConfig): string {
  return Object.entries(toSettings(cfg)).map(([k, v]) => `${envNameOf(k)}=${quoteEnv(v)}`).join("\n") + "\n";
}

export function toEnv(cfg: MemberConfig): Record<string, string> {
  return Object.fromEntries(Object.entries(toSettings(cfg)).map(([k, v]) => [envNameOf(k), v]));
}

export function toFlags(cfg: MemberConfig): string[] {
  return Object.entries(toSettings(cfg)).map(([k, v]) => `--${k}=${v}`);
}

/** Reads an env file back (the inverse of toEnvFile), e.g. for the local runner or tests. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const eq = t.indexOf("=");
    if (eq <= 0) continue;
    let v = t.slice(eq + 1);
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(["\\$`])/g, "$1");
    out[t.slice(0, eq)] = v;
  }
  return out;
}

function quoteEnv(v: string): string {
  return /^[A-Za-z0-9_./:,=@%+-]*$/.test(v) ? v : `"${v.replace(/(["\\$`])/g, "\\$1")}"`;
}
