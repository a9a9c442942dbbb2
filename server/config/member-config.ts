/**
 * The one model of a member. The server's flag parser produces it; the topology model, the
 * CDKTF stacks, the env/unit files and the local runner produce it too and render it with
 * `render.ts`, so a topology means the same thing everywhere.
 */
export type ClusterState = "new" | "existing";
export type CompactionMode = "periodic" | "revision";
export type LogLevel = "debug" | "info" | "warn" | "error" | "panic" | "fatal";
export type MetricsLevel = "basic" | "extensive";

export interface InitialMember {
  readonly name: string;
  readonly peerUrls: readonly string[];
}

/**
 * One side's TLS settings (etcd's transport.TLSInfo plus its auto-TLS switch): the client side from --cert-file,
 * --key-file, ..., the peer side from --peer-*. What they do is in server/tls/README.md.
 */
export interface TransportSecurity {
  readonly certFile: string;
  readonly keyFile: string;
  readonly trustedCaFile: string;
  readonly clientCertAuth: boolean;
  /** --auto-tls / --peer-auto-tls: self-signed certificates in <data-dir>/fixtures/{client,peer} when no cert/key is given. */
  readonly autoTls: boolean;
  readonly crlFile: string;
  /** Peer side only (--peer-cert-allowed-cn): the CN a connecting peer's certificate must have. */
  readonly allowedCn: string;
  /** --client-cert-allowed-hostname / --peer-cert-allowed-hostname: a name or address the connecting side's certificate must be valid for. */
  readonly allowedHostname: string;
  /** Peer side only (--experimental-peer-skip-client-san-verification). */
  readonly skipClientSanVerify: boolean;
}

export const NO_TRANSPORT_SECURITY: TransportSecurity = {
  certFile: "",
  keyFile: "",
  trustedCaFile: "",
  clientCertAuth: false,
  autoTls: false,
  crlFile: "",
  allowedCn: "",
  allowedHostname: "",
  skipClientSanVerify: false,
};

export interface MemberConfig {
  readonly name: string;
  readonly dataDir: string;
  /** Empty: the WAL lives in `${dataDir}/member/wal`. */
  readonly walDir: string;
  readonly listenClientUrls: readonly string[];
  readonly advertiseClientUrls: readonly string[];
  readonly listenPeerUrls: readonly string[];
  readonly initialAdvertisePeerUrls: readonly string[];
  readonly initialCluster: readonly InitialMember[];
  readonly initialClusterToken: string;
  readonly initialClusterState: ClusterState;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotCount: number;
  readonly maxSnapshots: number;
  readonly maxWals: number;
  /** 0 means etcd's default quota (2 GiB), a negative value disables it (etcd's int64 flag). */
  readonly quotaBackendBytes: number;
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  readonly autoCompactionMode: CompactionMode;
  readonly autoCompactionRetention: string;
  readonly preVote: boolean;
  readonly strictReconfigCheck: boolean;
  readonly logLevel: LogLevel;
  /** "default", "stderr", "stdout" or file paths (appended to). */
  readonly logOutputs: readonly string[];
  /** Extra HTTP listeners serving only /metrics and /health (etcd's --listen-metrics-urls). */
  readonly listenMetricsUrls: readonly string[];
  /** "extensive" adds the grpc_server_handling_seconds histogram, as etcd's --metrics does. */
  readonly metrics: MetricsLevel;
  /**
   * The --grpc-keepalive-* flags as given, in milliseconds (0 and negative kept: etcd then leaves
   * gRPC's defaults in place; see grpcKeepaliveOf in embed/grpc-keepalive.ts).
   */
  readonly grpcKeepAliveMinTimeMs: number;
  readonly grpcKeepAliveIntervalMs: number;
  readonly grpcKeepAliveTimeoutMs: number;
  readonly clientSecurity: TransportSecurity;
  readonly peerSecurity: TransportSecurity;
  /** --cipher-suites, Go's names as given (server/tls/cipher-suites.ts maps them). */
  readonly cipherSuites: readonly string[];
  /** --auth-token: "simple" (default) or "jwt,sign-method=…,pub-key=…,priv-key=…,ttl=…". */
  readonly authToken?: string;
  /** --auth-token-ttl: seconds a simple token lives after its last use (default 300). */
  readonly authTokenTtlSeconds?: number;
  /** --bcrypt-cost: bcrypt's cost for passwords (default 10). */
  readonly bcryptCost?: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS of the client port (etcd's --max-concurrent-streams). */
  readonly maxConcurrentStreams: number;
  /** Fast-forward election ticks once the peers are connected on start (a one-member cluster always is). */
  readonly initialElectionTickAdvance: boolean;
  /** Bootstrap from etcd's v2 discovery protocol at this URL ("" = off), through an HTTP proxy when discoveryProxy is set. */
  readonly discovery: string;
  readonly discoveryFallback: DiscoveryFallback;
  readonly discoveryProxy: string;
  /** Bootstrap --initial-cluster from DNS SRV records of this domain ("" = off). */
  readonly discoverySrv: string;
  readonly discoverySrvName: string;
  /** Origins given CORS headers on the client port's HTTP side ("*" or empty: all). */
  readonly cors: readonly string[];
  /** Host names the client port's HTTP side answers ("*" or empty: all); others get 421. */
  readonly hostWhitelist: readonly string[];
  /** The backend's held writes are committed to lmdb after this long (--backend-batch-interval; 0: etcd's 100 ms)... */
  readonly backendBatchIntervalMs: number;
  /** ...or once this many are held (--backend-batch-limit; 0: etcd's 10,000). */
  readonly backendBatchLimit: number;
  /** Backend rows deleted per compaction batch. */
  readonly experimentalCompactionBatchLimit: number;
  readonly experimentalWatchProgressNotifyIntervalMs: number;
  /** An applied entry that takes longer than this is logged ("apply request took too long"). */
  readonly experimentalWarningApplyDurationMs: number;
  /** A restarting member compares its HashKV with its peers' before it serves, and refuses to start on a mismatch. */
  readonly experimentalInitialCorruptCheck: boolean;
  /** The leader checks its followers' HashKV this often (0: never); a mismatch raises CORRUPT. */
  readonly experimentalCorruptCheckTimeMs: number;
  /** The leader checkpoints leases' remaining TTLs through raft, so a new leader does not restart them at their full TTL. */
  readonly experimentalEnableLeaseCheckpoint: boolean;
  /** A restarting member becomes a one-member cluster with its data (etcd's unsafe --force-new-cluster). */
  readonly forceNewCluster: boolean;
}

export type DiscoveryFallback = "exit" | "proxy";

/** etcd's default backend quota when --quota-backend-bytes is 0. */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;

export function walDirOf(cfg: Pick<MemberConfig, "dataDir" | "walDir">): string {
  return cfg.walDir !== "" ? cfg.walDir : `${cfg.dataDir}/member/wal`;
}

export function snapDirOf(cfg: Pick<MemberConfig, "dataDir">): string {
  return `${cfg.dataDir}/member/snap`;
}

export function formatInitialCluster(members: readonly InitialMember[]): string {
  return members.flatMap((m) => m.peerUrls.map((u) => `${m.name}=${u}`)).join(",");
}
