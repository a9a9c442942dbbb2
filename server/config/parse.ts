import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "./errors.js";
import { FLAGS, FLAG_BY_NAME, TOLERATED_ENV, envNameOf, type FlagSpec } from "./flag-table.js";
import type { CompactionMode, ClusterState, DiscoveryFallback, InitialMember, LogLevel, MemberConfig, MetricsLevel } from "./member-config.js";
import { checkUrl, checkUrls } from "./validate-url.js";
import { formatGoDuration, parseGoDuration } from "./go-duration.js";
import { tlsConfigFileKey } from "./tls-config-file.js";

export type Action = "run" | "version" | "help";

export interface ParsedConfig {
  readonly action: Action;
  readonly config: MemberConfig;
  /** Where each setting came from, for the start-up log (etcd logs env vars it used). */
  readonly envUsed: readonly string[];
  readonly warnings: readonly string[];
  /** Flags set to a value that has no effect on etcd-ts (see FlagSpec.noEffect): one start-up line each. */
  readonly noEffect: readonly NoEffect[];
}

export interface NoEffect {
  readonly flag: string;
  readonly value: string;
  readonly reason: string;
}

/** Raw settings by flag name, before typing. */
type RawSettings = Map<string, string>;

/**
 * etcd's precedence: a config file, when given, is the whole configuration (flags and
 * environment are ignored); otherwise flags win over ETCD_* variables, which win over defaults.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ParsedConfig {
  const warnings: string[] = [];
  const fromFlags = parseFlags(argv);
  if (fromFlags.get("help") === "true") return { action: "help", config: typed(new Map()), envUsed: [], warnings, noEffect: [] };
  if (fromFlags.get("version") === "true") return { action: "version", config: typed(new Map()), envUsed: [], warnings, noEffect: [] };

  const configFile = fromFlags.get("config-file") ?? env[envNameOf("config-file")];
  if (configFile) {
    if (fromFlags.size > 1) warnings.push("config file is set: other command line flags and environment variables are ignored");
    const fromFile = readConfigFile(configFile);
    return { action: "run", config: typed(fromFile), envUsed: [], warnings: [...warnings, ...deprecations(fromFile)], noEffect: noEffectOf(fromFile) };
  }

  const envUsed: string[] = [];
  const merged: RawSettings = new Map();
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith("ETCD_") || value === undefined) continue;
    const spec = FLAGS.find((f) => envNameOf(f.name) === key);
    if (!spec) {
      if (!TOLERATED_ENV.has(key)) warnings.push(`unrecognized environment variable ${key}=${value}`);
      continue;
    }
    if (spec.name === "help" || spec.name === "version") continue;
    if (fromFlags.has(spec.name)) {
      warnings.push(`ignored environment variable ${key} since the matching command-line flag is set`);
      continue;
    }
    merged.set(spec.name, checkValue(spec, value));
    envUsed.push(`${key}=${value}`);
  }
  for (const [k, v] of fromFlags) merged.set(k, v);
  return { action: "run", config: typed(merged), envUsed, warnings: [...warnings, ...deprecations(merged)], noEffect: noEffectOf(merged) };
}

function noEffectOf(raw: RawSettings): NoEffect[] {
  return [...raw]
    .map(([flag, value]) => ({ flag, value, spec: FLAG_BY_NAME.get(flag)! }))
    .filter(({ spec, value }) => spec.noEffect !== undefined && value !== spec.default)
    .map(({ flag, value, spec }) => ({ flag, value, reason: spec.noEffect! }));
}

/** etcd 3.4's start-up warnings for its deprecated logging flags (embed/config_logging.go). */
function deprecations(raw: RawSettings): string[] {
  const out: string[] = [];
  if (raw.get("debug") === "true") {
    out.push("Deprecated '--debug' flag is set to true (use '--log-level=debug' instead");
    const level = raw.get("log-level");
    if (level !== undefined && level !== "debug") out.push(`Deprecated '--debug' flag is set to true with inconsistent '--log-level=${level}' flag`);
  }
  return out;
}

/** Go `flag` package syntax: -f, --f, -f=v, --f=v, --f v; booleans take no separate value. */
function parseFlags(argv: readonly string[]): RawSettings {
  const out: RawSettings = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-") || arg === "-" || arg === "--") {
      throw new ConfigError(`'${arg}' is not a valid flag`, true);
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = FLAG_BY_NAME.get(name) ?? (name === "h" ? FLAG_BY_NAME.get("help") : undefined);
    if (!spec) throw new ConfigError(`flag provided but not defined: -${name}`, true);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (spec.kind === "bool") value = "true";
    else {
      const next = argv[++i];
      if (next === undefined) throw new ConfigError(`flag needs an argument: -${name}`, true);
      value = next;
    }
    out.set(spec.name, checkValue(spec, value));
  }
  return out;
}

function checkValue(spec: FlagSpec, value: string): string {
  const bad = (why: string) => new ConfigError(`invalid value "${value}" for flag -${spec.name}: ${why}`, true);
  if (spec.unsupported && value !== spec.default && value !== "") throw new ConfigError(`--${spec.name}: ${spec.unsupported}`);
  const checked = checkKind(spec, value, bad);
  const refused = spec.refuse?.(checked);
  if (refused !== undefined) throw new ConfigError(`--${spec.name}=${checked}: ${refused}`);
  return checked;
}

function checkKind(spec: FlagSpec, value: string, bad: (why: string) => ConfigError): string {
  switch (spec.kind) {
    case "uint":
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw bad("parse error");
      return value;
    case "int":
      // Go's Int64 flag: a sign is allowed
      if (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw bad("parse error");
      return String(Number(value));
    case "bool":
      // strconv.ParseBool's spellings
      if (!["true", "false", "1", "0", "t", "f", "T", "F", "TRUE", "FALSE", "True", "False"].includes(value)) throw bad("parse error");
      return ["true", "1", "t", "T", "TRUE", "True"].includes(value) ? "true" : "false";
    case "enum":
      if (!spec.values!.includes(value)) throw bad(`valid values are ${spec.values!.join(", ")}`);
      return value;
    case "urls":
      checkUrls(spec.name, value);
      return value;
    case "duration":
      if (parseGoDuration(value) === undefined) throw bad("parse error");
      return value;
    case "string":
      return value;
  }
}

function readConfigFile(path: string): RawSettings {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ConfigError(`cannot load config file ${path}: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError(`config file ${path} is not a YAML mapping`);
  const out: RawSettings = new Map();
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (value === null || value === undefined) continue;
    const tls = tlsConfigFileKey(path, key, value);
    if (tls) {
      for (const [flag, v] of tls) out.set(flag, checkValue(FLAG_BY_NAME.get(flag)!, v));
      continue;
    }
    const spec = FLAG_BY_NAME.get(key);
    if (typeof value === "object" && !Array.isArray(value)) throw new ConfigError(`config file ${path}: unknown key "${key}"`);
    if (!spec) throw new ConfigError(`config file ${path}: unknown key "${key}"`);
    out.set(key, checkValue(spec, yamlValue(path, spec, value)));
  }
  return out;
}

/**
 * A YAML value as the flag's text. etcd decodes its YAML into Go types: `log-outputs` is a list and
 * durations are integers of nanoseconds (a string like "5s" is an error there, and here).
 */
function yamlValue(path: string, spec: FlagSpec, value: unknown): string {
  const goType = spec.kind === "duration" ? "time.Duration" : spec.name === "log-outputs" ? "[]string" : spec.kind === "uint" ? "uint" : spec.kind === "int" ? "int64" : spec.kind === "bool" ? "bool" : "string";
  const mismatch = (got: string) => new ConfigError(`config file ${path}: json: cannot unmarshal ${got} into Go struct field configYAML.${spec.name} of type ${goType}`);
  if (spec.name === "log-outputs") {
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) throw mismatch(Array.isArray(value) ? "array" : typeof value);
    return value.join(",");
  }
  if (Array.isArray(value)) throw mismatch("array");
  if (spec.kind === "duration") {
    if (typeof value !== "number" || !Number.isInteger(value)) throw mismatch(typeof value);
    return formatGoDuration(value / 1e6);
  }
  return String(value);
}

function typed(raw: RawSettings): MemberConfig {
  const str = (name: string): string => raw.get(name) ?? FLAG_BY_NAME.get(name)!.default;
  const num = (name: string): number => Number(str(name));
  const bool = (name: string): boolean => str(name) === "true";
  const urls = (name: string): string[] => checkUrls(name, str(name));
  const duration = (name: string): number => parseGoDuration(str(name))!;
  // etcd's UniqueStringsValue: comma-separated, duplicates dropped, sorted
  const list = (name: string): string[] => [...new Set(str(name).split(",").filter((s) => s !== ""))].sort();
  const name = str("name");
  const discovering = str("discovery") !== "" || str("discovery-srv") !== "";
  // etcd: with discovery, an initial cluster not given explicitly is empty (discovery fills it in)
  const initialCluster = raw.has("initial-cluster")
    ? parseInitialCluster(str("initial-cluster"))
    : discovering
      ? []
      : [{ name, peerUrls: urls("initial-advertise-peer-urls") }];
  const cfg: MemberConfig = {
    name,
    dataDir: raw.get("data-dir") ?? `${name}.etcd`,
    walDir: str("wal-dir"),
    listenClientUrls: urls("listen-client-urls"),
    advertiseClientUrls: urls("advertise-client-urls"),
    listenPeerUrls: urls("listen-peer-urls"),
    initialAdvertisePeerUrls: urls("initial-advertise-peer-urls"),
    initialCluster,
    initialClusterToken: str("initial-cluster-token"),
    initialClusterState: str("initial-cluster-state") as ClusterState,
    heartbeatIntervalMs: num("heartbeat-interval"),
    electionTimeoutMs: num("election-timeout"),
    snapshotCount: num("snapshot-count"),
    maxSnapshots: num("max-snapshots"),
    maxWals: num("max-wals"),
    quotaBackendBytes: num("quota-backend-bytes"),
    maxRequestBytes: num("max-request-bytes"),
    maxTxnOps: num("max-txn-ops"),
    autoCompactionMode: str("auto-compaction-mode") as CompactionMode,
    autoCompactionRetention: str("auto-compaction-retention"),
    preVote: bool("pre-vote"),
    strictReconfigCheck: bool("strict-reconfig-check"),
    // etcd: `cfg.Debug || cfg.LogLevel == "debug"` selects zap's debug level
    logLevel: bool("debug") ? "debug" : (str("log-level") as LogLevel),
    logOutputs: str("log-outputs").split(","),
    listenMetricsUrls: urls("listen-metrics-urls"),
    metrics: str("metrics") as MetricsLevel,
    grpcKeepAliveMinTimeMs: duration("grpc-keepalive-min-time"),
    grpcKeepAliveIntervalMs: duration("grpc-keepalive-interval"),
    grpcKeepAliveTimeoutMs: duration("grpc-keepalive-timeout"),
    ...securityOf(str, bool),
    authToken: str("auth-token"),
    authTokenTtlSeconds: num("auth-token-ttl"),
    bcryptCost: num("bcrypt-cost"),
    maxConcurrentStreams: num("max-concurrent-streams"),
    initialElectionTickAdvance: bool("initial-election-tick-advance"),
    discovery: str("discovery"),
    discoveryFallback: str("discovery-fallback") as DiscoveryFallback,
    discoveryProxy: str("discovery-proxy"),
    discoverySrv: str("discovery-srv"),
    discoverySrvName: str("discovery-srv-name"),
    cors: list("cors"),
    hostWhitelist: list("host-whitelist"),
    // etcd's backend: 0 stands for its defaults, 100 ms and 10,000 writes
    backendBatchIntervalMs: duration("backend-batch-interval") || 100,
    backendBatchLimit: num("backend-batch-limit") || 10_000,
    // etcd's mvcc: 0 stands for the default batch of 1000
    experimentalCompactionBatchLimit: num("experimental-compaction-batch-limit") || 1000,
    experimentalWatchProgressNotifyIntervalMs: duration("experimental-watch-progress-notify-interval"),
    experimentalWarningApplyDurationMs: duration("experimental-warning-apply-duration"),
    experimentalInitialCorruptCheck: bool("experimental-initial-corrupt-check"),
    experimentalCorruptCheckTimeMs: duration("experimental-corrupt-check-time"),
    experimentalEnableLeaseCheckpoint: bool("experimental-enable-lease-checkpoint"),
    forceNewCluster: bool("force-new-cluster"),
  };
  validate(cfg);
  return cfg;
}

/** The TLS settings of both sides (server/tls reads them), from the flags. */
function securityOf(str: (name: string) => string, bool: (name: string) => boolean): Pick<MemberConfig, "clientSecurity" | "peerSecurity" | "cipherSuites"> {
  return {
      clientSecurity: {
        certFile: str("cert-file"),
        keyFile: str("key-file"),
        trustedCaFile: str("trusted-ca-file"),
        clientCertAuth: bool("client-cert-auth"),
        autoTls: bool("auto-tls"),
        crlFile: str("client-crl-file"),
        allowedCn: "",
        allowedHostname: str("client-cert-allowed-hostname"),
        skipClientSanVerify: false,
      },
      peerSecurity: {
        certFile: str("peer-cert-file"),
        keyFile: str("peer-key-file"),
        trustedCaFile: str("peer-trusted-ca-file"),
        clientCertAuth: bool("peer-client-cert-auth"),
        autoTls: bool("peer-auto-tls"),
        crlFile: str("peer-crl-file"),
        allowedCn: str("peer-cert-allowed-cn"),
        allowedHostname: str("peer-cert-allowed-hostname"),
        skipClientSanVerify: bool("experimental-peer-skip-client-san-verification"),
      },
    cipherSuites: splitList(str("cipher-suites")),
  };
}

/** etcd's flags.StringsValue: comma-separated, empty means none. */
function splitList(s: string): string[] {
  return s === "" ? [] : s.split(",");
}

export function parseInitialCluster(s: string): InitialMember[] {
  const byName = new Map<string, string[]>();
  for (const part of s.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new ConfigError(`invalid value "${s}" for flag -initial-cluster: "${part}" is not of the form name=peerURL`, true);
    const list = byName.get(part.slice(0, eq)) ?? [];
    list.push(checkUrl("initial-cluster", part.slice(eq + 1)));
    byName.set(part.slice(0, eq), list);
  }
  return [...byName].map(([name, peerUrls]) => ({ name, peerUrls }));
}

/** The cross-field checks etcd's embed.Config.Validate makes, with etcd's wording. */
function validate(cfg: MemberConfig): void {
  if ([cfg.discovery !== "", cfg.initialCluster.length > 0, cfg.discoverySrv !== ""].filter(Boolean).length > 1) {
    throw new ConfigError('multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"');
  }
  if (cfg.electionTimeoutMs < 5 * cfg.heartbeatIntervalMs) {
    throw new ConfigError(
      `--election-timeout[${cfg.electionTimeoutMs}ms] should be at least as 5 times as --heartbeat-interval[${cfg.heartbeatIntervalMs}ms]`,
    );
  }
  if (cfg.electionTimeoutMs > 50000) throw new ConfigError(`--election-timeout[${cfg.electionTimeoutMs}ms] is too long, and should be set less than 50 seconds`);
  if (cfg.heartbeatIntervalMs === 0) throw new ConfigError("--heartbeat-interval must be positive");
  if (cfg.listenClientUrls.length > 0 && cfg.advertiseClientUrls.length === 0) {
    throw new ConfigError("--advertise-client-urls is required when --listen-client-urls is set explicitly");
  }

}

/**
 * Checks that only matter when bootstrapping a new member (no data dir yet): etcd ignores the
 * --initial-* flags of a member that restarts with its data, e.g. after `member update`.
 */
export function validateBootstrap(cfg: Pick<MemberConfig, "initialClusterState" | "initialCluster" | "name" | "initialAdvertisePeerUrls">): void {
  if (cfg.initialClusterState !== "new") return;
  const me = cfg.initialCluster.find((m) => m.name === cfg.name);
  if (!me) {
    throw new ConfigError(`couldn't find local name "${cfg.name}" in the initial cluster configuration`);
  }
  const adv = [...cfg.initialAdvertisePeerUrls].sort().join(",");
  const listed = [...me.peerUrls].sort().join(",");
  if (adv !== listed) {
    throw new ConfigError(
      `--initial-cluster has ${cfg.name}=${listed} but missing from --initial-advertise-peer-urls=${adv} ("${listed}"(resolved from "${listed}") != "${adv}"(resolved from "${adv}"))`,
    );
  }
}
