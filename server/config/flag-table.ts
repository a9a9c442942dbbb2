/**
 * etcd's command-line flags as data: the one table the flag parser, the ETCD_* environment,
 * the YAML config file, `--help`, the env files and the unit files all read.
 * Names, defaults and help texts follow etcd 3.4/3.5.
 */
export type FlagKind = "string" | "uint" | "int" | "bool" | "urls" | "enum" | "duration";

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  /** etcd's default, as etcd prints it in --help. */
  readonly default: string;
  readonly usage: string;
  readonly values?: readonly string[];
  /** Present when etcd-ts knows the flag but does not implement it yet: it is refused with this text. */
  readonly unsupported?: string;
  /** Values etcd takes but etcd-ts does not serve: the reason it is refused, or undefined when the value is fine. */
  readonly refuse?: (value: string) => string | undefined;
  /**
   * Present when the flag tunes something only etcd's Go implementation has (bbolt, pprof, the v2
   * proxy): it is accepted, and a value other than the default is named in one start-up log line
   * with this reason. See server/config/README.md.
   */
  readonly noEffect?: string;
}

const V2_REFUSED = "etcd-ts serves the v3 API only (there is no v2 API to enable); leave --enable-v2 unset or false";
const MAX_UINT32 = 4294967295;
const V2_PROXY = "etcd-ts has no v2 proxy (etcd's --proxy mode); the v2 proxy's timing flags have no effect on etcd-ts";
const V2_PROXY_REFUSED = "etcd-ts has no v2 proxy; leave --proxy unset or 'off'";
const V2V3_REFUSED = "etcd-ts serves the v3 API only (there is no v2 emulation to enable); leave --experimental-enable-v2v3 empty";
const CAPNSLOG_REFUSED = "etcd-ts logs only in zap's JSON format (etcd 3.5's default); capnslog's text format is not supported, use --logger=zap";

export const FLAGS: readonly FlagSpec[] = [
  // member
  { name: "name", kind: "string", default: "default", usage: "Human-readable name for this member." },
  { name: "data-dir", kind: "string", default: "${name}.etcd", usage: "Path to the data directory." },
  { name: "wal-dir", kind: "string", default: "", usage: "Path to the dedicated wal directory." },
  { name: "snapshot-count", kind: "uint", default: "100000", usage: "Number of committed transactions to trigger a snapshot to disk." },
  { name: "heartbeat-interval", kind: "uint", default: "100", usage: "Time (in milliseconds) of a heartbeat interval." },
  { name: "election-timeout", kind: "uint", default: "1000", usage: "Time (in milliseconds) for an election to timeout. See tuning documentation for details." },
  { name: "initial-election-tick-advance", kind: "bool", default: "true", usage: "Whether to fast-forward initial election ticks on boot for faster election." },
  { name: "listen-peer-urls", kind: "urls", default: "http://localhost:2380", usage: "List of URLs to listen on for peer traffic." },
  { name: "listen-client-urls", kind: "urls", default: "http://localhost:2379", usage: "List of URLs to listen on for client traffic." },
  { name: "max-snapshots", kind: "uint", default: "5", usage: "Maximum number of snapshot files to retain (0 is unlimited)." },
  { name: "max-wals", kind: "uint", default: "5", usage: "Maximum number of wal files to retain (0 is unlimited)." },
  { name: "quota-backend-bytes", kind: "int", default: "0", usage: "Raise alarms when backend size exceeds the given quota (0 defaults to low space quota)." },
  { name: "backend-batch-interval", kind: "duration", default: "0s", usage: "BackendBatchInterval is the maximum time before commit the backend transaction." },
  { name: "backend-batch-limit", kind: "uint", default: "0", usage: "BackendBatchLimit is the maximum operations before commit the backend transaction." },
  { name: "max-txn-ops", kind: "uint", default: "128", usage: "Maximum number of operations permitted in a transaction." },
  { name: "max-request-bytes", kind: "uint", default: "1572864", usage: "Maximum client request size in bytes the server will accept." },
  { name: "max-concurrent-streams", kind: "uint", default: String(MAX_UINT32), usage: "Maximum concurrent streams that each client can open at a time (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS of the client port).", refuse: refuseOverUint32 },
  { name: "grpc-keepalive-min-time", kind: "duration", default: "5s", usage: "Minimum duration interval that a client should wait before pinging server. As in etcd 3.4, 0 leaves gRPC's default (5m)." },
  { name: "grpc-keepalive-interval", kind: "duration", default: "2h0m0s", usage: "Frequency duration of server-to-client ping to check if a connection is alive. As in etcd 3.4, 0 (here or in --grpc-keepalive-timeout) does not disable it but leaves gRPC's defaults (2h, 20s)." },
  { name: "grpc-keepalive-timeout", kind: "duration", default: "20s", usage: "Additional duration of wait before closing a non-responsive connection (0: see --grpc-keepalive-interval)." },
  // clustering
  { name: "initial-advertise-peer-urls", kind: "urls", default: "http://localhost:2380", usage: "List of this member's peer URLs to advertise to the rest of the cluster." },
  { name: "initial-cluster", kind: "string", default: "default=http://localhost:2380", usage: "Initial cluster configuration for bootstrapping." },
  { name: "initial-cluster-state", kind: "enum", default: "new", values: ["new", "existing"], usage: "Initial cluster state ('new' or 'existing')." },
  { name: "initial-cluster-token", kind: "string", default: "etcd-cluster", usage: "Initial cluster token for the etcd cluster during bootstrap. Specifying this can protect you from unintended cross-cluster interaction when running multiple clusters." },
  { name: "advertise-client-urls", kind: "urls", default: "http://localhost:2379", usage: "List of this member's client URLs to advertise to the public. The client URLs advertised should be accessible to machines that talk to etcd cluster. etcd client libraries parse these URLs to connect to the cluster." },
  { name: "discovery", kind: "string", default: "", usage: "Discovery URL used to bootstrap the cluster." },
  { name: "discovery-fallback", kind: "enum", default: "proxy", values: ["exit", "proxy"], usage: "Expected behavior ('exit' or 'proxy') when discovery services fails. etcd-ts has no v2 proxy: when the discovery cluster is full it exits either way, saying so with 'proxy'." },
  { name: "discovery-proxy", kind: "string", default: "", usage: "HTTP proxy to use for traffic to discovery service." },
  { name: "discovery-srv", kind: "string", default: "", usage: "DNS srv domain used to bootstrap the cluster." },
  { name: "discovery-srv-name", kind: "string", default: "", usage: "Suffix to the dns srv name queried when bootstrapping." },
  { name: "strict-reconfig-check", kind: "bool", default: "true", usage: "Reject reconfiguration requests that would cause quorum loss." },
  { name: "pre-vote", kind: "bool", default: "true", usage: "Enable to run an additional Raft election phase." },
  { name: "auto-compaction-retention", kind: "string", default: "0", usage: "Auto compaction retention length. 0 means disable auto compaction." },
  { name: "auto-compaction-mode", kind: "enum", default: "periodic", values: ["periodic", "revision"], usage: "Interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for revision number based retention." },
  { name: "enable-v2", kind: "bool", default: "false", usage: "Accept etcd V2 client requests. (etcd-ts serves the v3 API only: 'true' is refused.)", refuse: (v) => (v === "true" ? V2_REFUSED : undefined) },
  // logging
  { name: "logger", kind: "enum", default: "zap", values: ["zap", "capnslog"], usage: "Currently only supports 'zap' for structured logging ('capnslog' is refused).", refuse: (v) => (v === "capnslog" ? CAPNSLOG_REFUSED : undefined) },
  { name: "log-outputs", kind: "string", default: "default", usage: "Specify 'stdout' or 'stderr' to skip journald logging even when running under systemd, or list of comma separated output targets (file paths are appended to).", refuse: refuseLogOutputs },
  { name: "log-level", kind: "enum", default: "info", values: ["debug", "info", "warn", "error", "panic", "fatal"], usage: "Configures log level. Only supports debug, info, warn, error, panic, or fatal." },
  { name: "debug", kind: "bool", default: "false", usage: "Enable debug-level logging for etcd. [WARN] Will be deprecated in v3.5. Use '--log-level=debug' instead." },
  {
    name: "log-package-levels",
    kind: "string",
    default: "",
    usage: "Specify a particular log level for each etcd package (eg: 'etcdmain=CRITICAL,etcdserver=DEBUG'). capnslog only: as etcd's zap logger, etcd-ts ignores it (with a warning).",
    refuse: refusePackageLevels,
    noEffect: "per-package levels are capnslog's; etcd-ts logs with zap's levels (as etcd 3.4 with --logger=zap, which also ignores this flag): use --log-level",
  },
  // metrics
  { name: "metrics", kind: "enum", default: "basic", values: ["basic", "extensive"], usage: "Set level of detail for exported metrics, specify 'extensive' to include server side grpc histogram metrics." },
  { name: "listen-metrics-urls", kind: "urls", default: "", usage: "List of URLs to listen on for the metrics and health endpoints." },
  { name: "enable-pprof", kind: "bool", default: "false", usage: "Enable runtime profiling data via HTTP server. Address is at client URL + \"/debug/pprof/\"", noEffect: "pprof is Go's profiler; profile etcd-ts with node --cpu-prof or --inspect instead" },
  // HTTP access control of the client port
  { name: "cors", kind: "string", default: "*", usage: "Comma-separated whitelist of origins for CORS, or cross-origin resource sharing, (empty or * means allow all).", refuse: refuseCorsOrigins },
  { name: "host-whitelist", kind: "string", default: "*", usage: "Acceptable hostnames from HTTP client requests, if server is not secure (empty or * means allow all)." },
  // v2 proxy: etcd-ts has none
  { name: "proxy", kind: "enum", default: "off", values: ["off", "readonly", "on"], usage: "Proxy mode setting ('off', 'readonly' or 'on'). etcd-ts has no v2 proxy: only 'off'.", refuse: (v) => (v === "off" ? undefined : V2_PROXY_REFUSED) },
  ...([["proxy-failure-wait", "5000", "Time (in milliseconds) an endpoint will be held in a failed state."], ["proxy-refresh-interval", "30000", "Time (in milliseconds) of the endpoints refresh interval."], ["proxy-dial-timeout", "1000", "Time (in milliseconds) for a dial to timeout."], ["proxy-write-timeout", "5000", "Time (in milliseconds) for a write to timeout."], ["proxy-read-timeout", "0", "Time (in milliseconds) for a read to timeout."]] as const).map(
    ([name, def, usage]): FlagSpec => ({ name, kind: "uint", default: def, usage, noEffect: V2_PROXY }),
  ),
  // experimental
  { name: "experimental-enable-v2v3", kind: "string", default: "", usage: "Serve v2 requests through the v3 backend under a given prefix. (etcd-ts serves the v3 API only: a prefix is refused.)", refuse: (v) => (v === "" ? undefined : V2V3_REFUSED) },
  { name: "experimental-backend-bbolt-freelist-type", kind: "string", default: "array", usage: "ExperimentalBackendFreelistType specifies the type of freelist that boltdb backend uses(array and map are supported types).", noEffect: "etcd-ts's backend is lmdb, which has no bbolt freelist" },
  { name: "experimental-enable-lease-checkpoint", kind: "bool", default: "false", usage: "ExperimentalEnableLeaseCheckpoint enables primary lessor to persist lease remainingTTL to prevent indefinite auto-renewal of long lived leases." },
  { name: "experimental-compaction-batch-limit", kind: "uint", default: "1000", usage: "ExperimentalCompactionBatchLimit sets the maximum revisions deleted in each compaction batch (0: 1000)." },
  { name: "experimental-watch-progress-notify-interval", kind: "duration", default: "10m0s", usage: "Duration of periodical watch progress notification." },
  { name: "force-new-cluster", kind: "bool", default: "false", usage: "Force to create a new one-member cluster." },
  { name: "experimental-initial-corrupt-check", kind: "bool", default: "false", usage: "Enable to check data corruption before serving any client/peer traffic." },
  { name: "experimental-corrupt-check-time", kind: "duration", default: "0s", usage: "Duration of time between cluster corruption check passes." },
  { name: "experimental-warning-apply-duration", kind: "duration", default: "100ms", usage: "Warning is generated if requests take more than this duration." },
  // config file and meta
  { name: "config-file", kind: "string", default: "", usage: "Path to the server configuration file. Note that if a configuration file is provided, other command line flags and environment variables will be ignored." },
  { name: "version", kind: "bool", default: "false", usage: "Print the version and exit." },
  { name: "help", kind: "bool", default: "false", usage: "Show this help and exit." },
  // security (etcd 3.4's --help texts); the config file sets them through nested sections instead (tls-config-file.ts)
  { name: "cert-file", kind: "string", default: "", usage: "Path to the client server TLS cert file." },
  { name: "key-file", kind: "string", default: "", usage: "Path to the client server TLS key file." },
  { name: "client-cert-auth", kind: "bool", default: "false", usage: "Enable client cert authentication." },
  { name: "client-crl-file", kind: "string", default: "", usage: "Path to the client certificate revocation list file." },
  { name: "client-cert-allowed-hostname", kind: "string", default: "", usage: "Allowed TLS hostname for client cert authentication." },
  { name: "trusted-ca-file", kind: "string", default: "", usage: "Path to the client server TLS trusted CA cert file." },
  { name: "auto-tls", kind: "bool", default: "false", usage: "Client TLS using generated certificates." },
  { name: "peer-cert-file", kind: "string", default: "", usage: "Path to the peer server TLS cert file." },
  { name: "peer-key-file", kind: "string", default: "", usage: "Path to the peer server TLS key file." },
  { name: "peer-client-cert-auth", kind: "bool", default: "false", usage: "Enable peer client cert authentication." },
  { name: "peer-trusted-ca-file", kind: "string", default: "", usage: "Path to the peer server TLS trusted CA file." },
  { name: "peer-cert-allowed-cn", kind: "string", default: "", usage: "Required CN for client certs connecting to the peer endpoint." },
  { name: "peer-cert-allowed-hostname", kind: "string", default: "", usage: "Allowed TLS hostname for inter peer authentication." },
  { name: "peer-auto-tls", kind: "bool", default: "false", usage: "Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided." },
  { name: "peer-crl-file", kind: "string", default: "", usage: "Path to the peer certificate revocation list file." },
  { name: "cipher-suites", kind: "string", default: "", usage: "Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Go)." },
  { name: "experimental-peer-skip-client-san-verification", kind: "bool", default: "false", usage: "Skip verification of SAN field in client certificate for peer connections." },
  // auth (the token options are checked at start-up: server/auth/token-options.ts)
  { name: "auth-token", kind: "string", default: "simple", usage: "Specify auth token specific options." },
  { name: "auth-token-ttl", kind: "uint", default: "300", usage: "The lifetime in seconds of the auth token." },
  { name: "bcrypt-cost", kind: "uint", default: "10", usage: "Specify bcrypt algorithm cost factor for auth password hashing." },
];

/** Go's flags.Uint32Value: strconv.ParseUint(s, 10, 32). */
function refuseOverUint32(v: string): string | undefined {
  return Number(v) > MAX_UINT32 ? `strconv.ParseUint: parsing "${v}": value out of range` : undefined;
}

/** etcd's flags.UniqueURLs with "*" allowed: "*" or http(s) URLs (origins are compared, never served, so https is fine). */
function refuseCorsOrigins(v: string): string | undefined {
  if (v === "*" || v === "") return undefined;
  for (const o of v.split(",")) {
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      return `URL scheme must be http, https, unix, or unixs: ${o}`;
    }
    if (!["http:", "https:", "unix:", "unixs:"].includes(u.protocol)) return `URL scheme must be http, https, unix, or unixs: ${o}`;
    if (u.pathname !== "/" && u.pathname !== "") return `URL must not contain a path: ${o}`;
    if (!/^[a-z]+:\/\/(\[[^\]]*\]|[^/:]*):\d+\/?$/i.test(o)) return `URL address does not have the form "host:port": ${o}`;
  }
  return undefined;
}

/** capnslog's ParseLogLevelConfig: "pkg=LEVEL,..." with its level names. */
function refusePackageLevels(v: string): string | undefined {
  if (v === "") return undefined;
  for (const part of v.split(",")) {
    const kv = part.split("=");
    if (kv.length !== 2) return `bad log level format ${JSON.stringify(part)}`;
    if (!["CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG", "TRACE", "C", "E", "W", "N", "I", "D", "T"].includes(kv[1]!.toUpperCase())) return `couldn't parse log level ${kv[1]}`;
  }
  return undefined;
}

/** etcd's zap outputs: default (stderr), stderr, stdout or file paths; journald is not written to by etcd-ts. */
function refuseLogOutputs(v: string): string | undefined {
  const outs = v.split(",");
  if (outs.some((o) => o === "")) return `empty output in '--log-outputs=${v}'`;
  if (outs.length > 1 && outs.includes("default")) return 'multi logoutput for "default" is not supported yet';
  if (outs.includes("journal")) return "etcd-ts does not write to journald; use 'stderr' (under systemd it goes to the journal)";
  return undefined;
}

export const FLAG_BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.map((f) => [f.name, f]));

/** `data-dir` -> `ETCD_DATA_DIR`, as etcd's pkg/flags maps them. */
export function envNameOf(flag: string): string {
  return "ETCD_" + flag.toUpperCase().replace(/-/g, "_");
}

/** Environment variables etcd tolerates without a flag behind them. */
export const TOLERATED_ENV = new Set(["ETCD_UNSUPPORTED_ARCH"]);
