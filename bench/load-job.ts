/** Messages between the benchmark (parent) and its load generator processes (bench/load-worker.ts). */
import type { ClientTlsFiles } from "./endpoint-tls.js";

export type LoadOp = "put" | "range" | "txn-mixed" | "lease-churn" | "lease-keepalive" | "lease-expiry" | "watch-latency" | "http-put" | "http-range";

export interface LoadJob {
  op: LoadOp;
  /** Client URLs; channel i of the whole run goes to endpoints[i % endpoints.length]. */
  endpoints: string[];
  /** Global indexes of the channels (gRPC connections) this process opens. */
  channelIds: number[];
  /** Concurrent in-flight requests in this process, spread round-robin over its channels. */
  clients: number;
  /** Measured requests for this process (null: run for durationMs). */
  total: number | null;
  durationMs: number | null;
  /** Requests per second for this process; 0 = unlimited. */
  rate: number;
  warmup: number;
  /** The warm-up also ends after this long (absent: only `warmup` bounds it), so that a slow server does not stretch it. */
  warmupMaxMs?: number;
  timeoutMs: number;
  keyPrefix: string;
  keySize: number;
  valSize: number;
  keySpaceSize: number;
  sequentialKeys: boolean;
  /** Offset of this process in the sequential key order. */
  keyOffset: number;
  serializable: boolean;
  /** range: "point" reads one random key of the key space; "prefix" reads the whole prefix (up to limit). */
  rangeMode: "point" | "prefix";
  keysOnly: boolean;
  countOnly: boolean;
  limit: number;
  rwRatio: number;
  /** lease-churn and lease-keepalive: TTL of the granted leases; lease-expiry: the short TTL whose expiry is timed. */
  leaseTtl: number;
  /** watch-latency: puts per second on the watched key. */
  putRate: number;
  /** https endpoints: the CA and client certificate files (the parent's registration, bench/endpoint-tls.ts). */
  tls?: ClientTlsFiles;
  /** A cluster with auth on: the token (the parent's registration, bench/endpoint-auth.ts). */
  token?: string;
}

export type ToWorker = { type: "job"; job: LoadJob } | { type: "go"; startAt: number } | { type: "stop" };

export interface WorkerOpStats {
  count: number;
  histogram: string;
}

export interface WorkerResult {
  sent: number;
  ok: number;
  errors: number;
  timeouts: number;
  warmupRequests: number;
  errorKinds: Record<string, number>;
  /** Successful responses per second since startAt. */
  perSecond: number[];
  histogram: string;
  ops?: Record<string, WorkerOpStats>;
  /** Epoch ms of the last measured response. */
  endAt: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  wallMs: number;
}

export type FromWorker =
  | { type: "ready" }
  | { type: "progress"; done: number; ok: number; errors: number }
  | { type: "result"; result: WorkerResult }
  | { type: "error"; message: string };
