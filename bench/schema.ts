/**
 * The benchmark result file: what `etcdkit bench` writes as result.json and what `etcdkit compare`
 * and the report generators read. Described for humans in bench/SCHEMA.md.
 *
 * Versioning: SCHEMA_VERSION is bumped on any change that a reader of the previous version would
 * misread (a renamed or re-typed field, a changed unit). Adding an optional field does not bump it.
 * Readers refuse other versions with a clear error (see readResultFile in bench/result-file.ts).
 *
 * Units: times in milliseconds (suffix Ms) unless named otherwise, sizes in bytes, rates per second.
 */

export const SCHEMA_ID = "etcdkit.bench.result";
export const SCHEMA_VERSION = 1;

export type Consistency = "l" | "s";
export type Status = "ok" | "failed" | "skipped" | "interrupted";
export type ServerRole = "subject" | "baseline";
export type TargetKind = "local" | "endpoints" | "stack" | "hosts";
export type WorkloadFamily = "kv" | "http" | "failover" | "watch" | "lease" | "memory";

export interface BenchResultFile {
  schema: typeof SCHEMA_ID;
  schemaVersion: number;
  tool: { name: string; version: string };
  /** Random id of this run; keys written by the run live under bench/<runId>/. */
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  argv: string[];
  options: BenchOptionsRecord;
  machine: MachineFacts;
  runs: TopologyRun[];
  /** True when the run was stopped early (SIGINT/SIGTERM); what finished is still recorded. */
  interrupted: boolean;
  notes: string[];
}

/** The effective options (after defaults), as etcd's benchmark tool names them where it has a name. */
export interface BenchOptionsRecord {
  topologies: number[];
  server: string;
  baseline: string | null;
  workloads: string[];
  target: TargetKind;
  endpoints: string[] | null;
  /** The first load shape's (files before shapes existed had only these). */
  conns: number;
  clients: number;
  /**
   * Every load shape (--conns/--clients pairs): each load workload runs once per shape. With more than one,
   * a workload's results are named "<name>@<clients>" (e.g. "put@100"). Absent in older files: one shape.
   */
  shapes?: { conns: number; clients: number }[];
  /**
   * How the load's connections reach the members: "all-members" (each connection has an HTTP/2 connection
   * to every member and sends each request to the next one, round-robin, as clientv3 does) or "leader"
   * (--target-leader). Absent in older files, where connection i went to member i mod N.
   */
  connections?: "all-members" | "leader";
  /** Requests per trial per load workload (null in --duration mode). */
  total: number | null;
  /** Seconds per trial per load workload (null in --total mode). */
  durationSec: number | null;
  /** Requests per second over all clients; 0 = unlimited. */
  rate: number;
  keySize: number;
  valSize: number;
  keySpaceSize: number;
  sequentialKeys: boolean;
  consistency: Consistency;
  rwRatio: number;
  limit: number;
  trials: number;
  failoverTrials: number;
  /** Warm-up requests per load trial, not counted in any figure. */
  warmup: number;
  timeoutMs: number;
  workers: number;
  targetLeader: boolean;
  putRate: number;
  leaseTtl: number;
  /** lease-expiry: TTL of the leases whose expiry is timed (absent in files written before it existed). */
  expiryTtl?: number;
  /** lease-expiry: leases per trial, their grants spread over TTL + 1 s. */
  expiryLeases?: number;
  /** put-idle-watchers: prefix watchers held open during each trial (absent in older files). */
  idleWatchers?: number;
  /** --target hosts: what every run's network and hosts were asked to be (absent for other targets and in older files). */
  hosts?: HostsOptionsRecord;
  pauseMs: number;
  /** memory: keys written between the two memory samples (absent in older files). */
  memoryKeys?: number;
  /** memory: the wait before the settled sample, 0 for none (--memory-settle; absent in older files: none). */
  memorySettleMs?: number;
  quick: boolean;
  /** "default", "quick" (--quick) or "full" (--full); absent in older files. */
  profile?: "default" | "quick" | "full";
  /**
   * How local clusters are brought up, in run order: ["tls"] (the default, as the kit deploys), ["plaintext"]
   * (--insecure) or ["tls", "plaintext"] (--tls: the same topology both ways). Absent in older files: plaintext.
   */
  transports?: Transport[];
  /**
   * How auth is set on local clusters, in run order: ["auth"] (--auth FILE), ["none", "auth"] (--auth-cost: the same
   * topology without and with auth). Absent: ["auth"] when --auth was given, else no auth.
   */
  authModes?: AuthMode[];
}

/** The options of --target hosts, as given (each run's `conditions` says what was in force). */
export interface HostsOptionsRecord {
  /** One-way delays between members, one set of runs per entry (ms). */
  delaysMs: number[];
  jitterMs: number;
  lossPct: number;
  /** kbit/s; null: no cap. */
  bandwidthKbit: number | null;
  /** Per-link overrides as given to --link. */
  links: string[];
  /** CPU cap per host in cores; null: equal weights only. */
  coresPerHost: number | null;
  /** false with --direct-links: no link shaper on the peer paths. */
  shaper: boolean;
  /** Partition scenarios: how long a partition is held at least, and the flapping link's cycles. */
  partitionMs: number;
  flaps: number;
}

export interface LinkConditionsRecord {
  /** Added one-way delay. */
  delayMs: number;
  /** Uniform ± around the delay, never reordering a stream. */
  jitterMs: number;
  /** Percent of 1448-byte segments delivered one retransmission timeout late. */
  lossPct: number;
  /** kbit/s; null: no cap. */
  bandwidthKbit: number | null;
}

/** The shaper measured between host 1 and host 2 before the members were deployed. */
export interface LinkCheckRecord {
  from: string;
  to: string;
  requestedRttMs: number;
  samples: number;
  throughputBytes: number;
  direct: { rttP50Ms: number; rttP90Ms: number; rttP99Ms: number; rttMaxMs: number; mbit: number };
  shaped: { rttP50Ms: number; rttP90Ms: number; rttP99Ms: number; rttMaxMs: number; mbit: number };
  overheadP50Ms: number;
  throughputRatio: number;
}

/** What a run on namespace hosts ran under (TopologyRun.conditions). */
export interface RunConditions {
  target: "hosts";
  /** Short form used in the run id ("20ms", "20ms±2ms,loss0.5%"). */
  tag: string;
  hosts: number;
  addresses: string[];
  /** Peer links: a default and directed overrides keyed "from>to" (host numbers). */
  conditions: { base: LinkConditionsRecord; links: Record<string, LinkConditionsRecord> };
  conditionsText: string;
  shaper: "userspace-proxy" | "none";
  /** Client (bench) ↔ member traffic is not shaped. */
  clientPath: "unshaped";
  isolation: { kind: "cgroup2" | "cgroup1" | "none"; coresPerHost: number | null; weight: number | null; detail: string };
  /** systemd or supervisor, as the SSH deploy found the hosts. */
  serviceManager: string | null;
  deploy: "ssh";
  linkCheck: LinkCheckRecord | null;
}

export type Transport = "tls" | "plaintext";
/** Auth on local clusters: "auth" (the --auth file applied, the load logs in as root) or "none". */
export type AuthMode = "auth" | "none";

export interface MachineFacts {
  hostname: string;
  platform: string;
  release: string;
  arch: string;
  cpuModel: string;
  cores: number;
  totalMemBytes: number;
  node: string;
  loadavgStart: number[];
  loadavgEnd: number[];
  fsync: FsyncProbe | null;
}

/** write(4 KiB) + fdatasync in a temp file on the disk the clusters use. */
export interface FsyncProbe {
  path: string;
  samples: number;
  blockBytes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface TopologyRun {
  /** "<members>-<server>", unique within a file. */
  id: string;
  members: number;
  server: string;
  role: ServerRole;
  /** Whether the clients spoke TLS to the cluster (absent in older files: plaintext). */
  tls?: boolean;
  /** true: the cluster had auth on and every request carried a token (--auth, --user); absent: no auth. */
  auth?: boolean;
  target: { kind: TargetKind; endpoints: string[] };
  /** --target hosts: the network and isolation the run's figures were measured under. */
  conditions?: RunConditions;
  status: Status;
  error?: string;
  setupMs: number;
  teardownMs: number;
  workloads: WorkloadResult[];
}

/** One statistic over the trials of a workload. spread = (max - min) / |median| (0 when one trial). */
export interface FigureStat {
  unit: string;
  better: "higher" | "lower";
  n: number;
  median: number;
  min: number;
  max: number;
  spread: number;
  values: number[];
}

export interface WorkloadResult {
  /** "put", "range-l", "range-s", "range-keys-only", "range-count-only", "txn-mixed", "http-put", "http-range",
   * "failover-kill-leader", "failover-stop-leader", "failover-kill-follower", "failover-pause-leader",
   * "watch-latency", "lease-churn", "lease-keepalive", "lease-expiry". */
  name: string;
  family: WorkloadFamily;
  status: Status;
  error?: string;
  skipReason?: string;
  params: Record<string, string | number | boolean | null>;
  trials: Trial[];
  /** Headline figures over the trials, keyed by figure name (throughput, p50Ms, ..., timeToNewLeaderMs, lost). */
  summary: Record<string, FigureStat>;
}

export type Trial = LoadTrial | FailoverTrial | MemoryTrial;

/** One member's memory, from /proc/<pid>/status and /smaps and the server's /metrics (null: not available). */
export interface MemberMemory {
  name: string;
  pid: number | null;
  rssBytes: number | null;
  /** RssAnon: heap and native allocations. */
  anonBytes: number | null;
  /** RssFile: mapped files (binary, libraries, the database file). */
  fileBytes: number | null;
  /** Resident pages of the mapped database file (lmdb data.mdb, bbolt member/snap/db); part of fileBytes. */
  dbMapBytes: number | null;
  /** That file's size on disk. */
  dbFileBytes: number | null;
  /** The runtime's heap in use as /metrics exports it (go_memstats_heap_inuse_bytes, nodejs_heap_size_used_bytes). */
  heapBytes: number | null;
}

/** The memory workload: every member at rest, then after `keys` keys of `valSize` bytes were written. */
export interface MemoryTrial {
  kind: "memory";
  trial: number;
  startedAt: string;
  keys: number;
  valSize: number;
  /** Keys acknowledged (keys - written failed). */
  written: number;
  writeErrors: number;
  writeMs: number;
  atRest: MemberMemory[];
  afterKeys: MemberMemory[];
  /** Sampled settleMs after afterKeys, the cluster idle meanwhile (--memory-settle; absent when 0). */
  settled?: MemberMemory[];
  settleMs?: number;
}

export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  stddevMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface ClientCpu {
  /** Load generator processes used. */
  processes: number;
  userMs: number;
  systemMs: number;
  /** (user + system) / wall time, in percent of one core (can exceed 100 with several processes). */
  percentOfCore: number;
}

export interface LoadTrial {
  kind: "load";
  trial: number;
  startedAt: string;
  /** The measured window: first measured request sent to last measured response received. */
  measuredMs: number;
  warmupRequests: number;
  /** Measured requests sent; sent = ok + errors + timeouts once a trial completes. */
  sent: number;
  ok: number;
  errors: number;
  timeouts: number;
  /** Error messages (gRPC code or HTTP status) with their counts, at most 10 kinds. */
  errorKinds: Record<string, number>;
  /** ok / measured seconds. */
  throughput: number;
  latency: LatencySummary;
  /** HdrHistogram of successful request latencies in microseconds, compressed base64 (hdr-histogram-js). */
  histogram: string | null;
  /** Successful responses in each second of the measured window. */
  perSecond: number[];
  clientCpu: ClientCpu;
  /** txn-mixed: the reads and writes separately. */
  ops?: Record<string, { count: number; throughput: number; latency: LatencySummary }>;
  members: MemberResources[];
}

export interface HistogramDelta {
  /** Observations during the measured window. */
  count: number;
  sumSeconds: number;
  meanMs: number;
  /** Estimated from the buckets (linear interpolation inside the bucket). */
  p50Ms: number;
  p99Ms: number;
}

export interface MemberResources {
  name: string;
  pid: number | null;
  samples: number;
  rssMaxBytes: number | null;
  rssMeanBytes: number | null;
  /** Percent of one core, averaged over the window / the highest sample. */
  cpuPercentMean: number | null;
  cpuPercentMax: number | null;
  /** The server's own histograms scraped from /metrics before and after the window; null when absent. */
  walFsync: HistogramDelta | null;
  backendCommit: HistogramDelta | null;
}

export type FailoverScenario = "kill-leader" | "stop-leader" | "kill-follower" | "pause-leader";
/** Network partitions (--target hosts): the leader cut from every other member, its outgoing packets dropped, a flapping link. */
export type PartitionScenario = "partition-leader" | "partition-oneway" | "partition-flap";

export interface FailoverTrial {
  kind: "failover";
  trial: number;
  scenario: FailoverScenario | PartitionScenario;
  startedAt: string;
  victim: { name: string; role: "leader" | "follower" };
  /** What was done: "SIGKILL", "SIGTERM", "SIGSTOP <ms>ms". */
  action: string;
  oldLeader: string | null;
  newLeader: string | null;
  leaderChanged: boolean;
  /** Fault to the first member other than the old leader reporting a leader; null when the leader did not change. */
  timeToNewLeaderMs: number | null;
  /** Fault to the end of the first write, sent after the fault, that succeeded. */
  timeToFirstWriteMs: number | null;
  /** First to last failed request (its end) after the fault; 0 when none failed. */
  errorWindowMs: number;
  sent: number;
  acked: number;
  failed: number;
  timedOut: number;
  /** Acknowledged writes missing or different when every acknowledged key was read back at the end. Must be 0. */
  lost: number;
  verifiedKeys: number;
  /** The victim back and the cluster healthy again, from the fault. */
  recoveryMs: number | null;
  /** Error messages seen by the writers with their counts, at most 10 kinds. */
  errorKinds?: Record<string, number>;
  timeline: FailoverTimeline;
  /** Partition scenarios: what was cut, for how long, and what the old leader answered meanwhile. */
  partition?: PartitionDetail;
}

export interface PartitionDetail {
  /** The cuts as "from>to" member names. */
  cuts: string[];
  /** Cut → heal (for a flapping link, the whole flapping). */
  heldMs: number;
  flaps: number | null;
  /** Distinct leaders reported by the members from the fault to the heal, the old one included. */
  leaders: string[];
  /**
   * Linearizable reads of one key sent to the old leader only, from the fault to the heal, while
   * the other members kept writing it: a read that succeeded but saw a store revision older than
   * that of a write acknowledged before the read was sent is stale (must be 0).
   */
  oldLeaderReads: { sent: number; ok: number; failed: number; timedOut: number; stale: number };
  /** Examples of stale reads (at most 5): the revision read, the newest acknowledged before, the value read. */
  staleExamples: { readRevision: number; ackedRevision: number; readValue: number | null; atMs: number }[];
}

export interface FailoverTimeline {
  bucketMs: number;
  /** Start of bucket 0 relative to the fault (negative: before it). */
  startMs: number;
  ok: number[];
  errors: number[];
  timeouts: number[];
  /** Marks relative to the fault: fault, new-leader, first-write, restored. */
  marks: { label: string; atMs: number }[];
}
