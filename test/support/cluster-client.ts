/**
 * Talking to a running cluster from a test: gRPC calls with deadlines (KV, Maintenance, Cluster),
 * member Status and HashKV, waiting for a leader or for every member to reach the same raft index,
 * and Debian's etcdctl with its JSON output parsed. Launching members is `launcher.ts`'s job.
 */
import * as grpc from "@grpc/grpc-js";
import { isHealthy, isLeader } from "../../ansible-free-scripts/common/health.js";
import type { LocalCluster } from "../../ansible-free-scripts/local/cluster.js";
import { clientConstructor } from "../../server/pb/grpc-services.js";
import { etcdctl as sharedEtcdctl, type CtlResult } from "./etcdctl.js";

export { isHealthy, isLeader };
export type { CtlResult };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** host:port of a URL (etcdctl takes endpoints in this form; see differential.test.ts for why not URLs). */
export function hostPort(url: string): string {
  return new URL(url).host;
}

// ---- polling ----------------------------------------------------------------------------------

/** Polls `check` until it returns a non-undefined/non-false value; throws with `what` (and the last error) on timeout. */
export async function waitUntil<T>(check: () => Promise<T | undefined | false>, timeoutMs: number, what: string | (() => string), intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      const w = typeof what === "function" ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${w}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ""}`);
    }
    await sleep(intervalMs);
  }
}

/** The leader's member name, as the running (not paused) members report through /metrics; waits until there is one not in `exclude`. */
export async function waitLeader(cluster: LocalCluster, timeoutMs: number, exclude: readonly string[] = []): Promise<string> {
  return waitUntil(
    async () => {
      const live = cluster.members.filter((m) => m.running && !m.paused && !exclude.includes(m.name));
      const answers = await Promise.all(live.map(async (m) => ((await isLeader(m.clientUrl, 500)) ? m.name : undefined)));
      const leaders = answers.filter((x): x is string => x !== undefined);
      return leaders.length === 1 ? leaders[0] : undefined;
    },
    timeoutMs,
    `a leader among ${cluster.members.map((m) => m.name).filter((n) => !exclude.includes(n)).join(", ")}`,
    25,
  );
}

// ---- gRPC with deadlines ----------------------------------------------------------------------

export type Service = "KV" | "Maintenance" | "Cluster";

export interface Rpc {
  call<Res = Record<string, any>>(method: string, req: object, timeoutMs?: number): Promise<Res>;
  close(): void;
}

/** A raw etcd gRPC client on one endpoint (host:port); every call has a deadline (default 2 s). */
export function rpc(endpoint: string, service: Service): Rpc {
  const Ctor = clientConstructor("etcdserverpb", service);
  const client = new Ctor(endpoint, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": -1,
    // Reconnect quickly after a member restarts.
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 500,
  });
  return {
    call: <Res>(method: string, req: object, timeoutMs = 2000) =>
      new Promise<Res>((resolve, reject) => {
        (client[method] as (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Res) => void) => void).call(
          client,
          req,
          { deadline: Date.now() + timeoutMs },
          (e, r) => (e ? reject(e) : resolve(r)),
        );
      }),
    close: () => client.close(),
  };
}

export interface KvValue {
  value: string | undefined;
  modRevision: number;
  revision: number;
}

/** A KV client for one member. */
export class Kv {
  readonly rpc: Rpc;
  constructor(readonly endpoint: string) {
    this.rpc = rpc(endpoint, "KV");
  }
  async put(key: string, value: string, timeoutMs = 2000): Promise<number> {
    const r = await this.rpc.call<{ header: { revision: string } }>("Put", { key: Buffer.from(key), value: Buffer.from(value) }, timeoutMs);
    return Number(r.header.revision);
  }
  async get(key: string, opts: { serializable?: boolean; timeoutMs?: number } = {}): Promise<KvValue> {
    const r = await this.rpc.call<{ header: { revision: string }; kvs: { value: Buffer; mod_revision: string }[] }>(
      "Range",
      { key: Buffer.from(key), serializable: !!opts.serializable },
      opts.timeoutMs ?? 2000,
    );
    const kv = r.kvs[0];
    return { value: kv?.value.toString(), modRevision: kv ? Number(kv.mod_revision) : 0, revision: Number(r.header.revision) };
  }
  /** Every key under `prefix` (serializable or not) with the header revision. */
  async prefix(prefix: string, opts: { serializable?: boolean; timeoutMs?: number } = {}): Promise<{ kvs: Map<string, string>; revision: number }> {
    const key = Buffer.from(prefix);
    const end = Buffer.from(key);
    end[end.length - 1]!++;
    const r = await this.rpc.call<{ header: { revision: string }; kvs: { key: Buffer; value: Buffer }[] }>(
      "Range",
      { key, range_end: end, serializable: !!opts.serializable },
      opts.timeoutMs ?? 10_000,
    );
    return { kvs: new Map(r.kvs.map((kv) => [kv.key.toString(), kv.value.toString()])), revision: Number(r.header.revision) };
  }
  close(): void {
    this.rpc.close();
  }
}

/** Puts with retries (for "writes continue" checks): returns after the first acknowledged attempt or throws at the deadline. */
export async function putEventually(kv: Kv, key: string, value: string, timeoutMs: number, attemptMs = 1000): Promise<number> {
  return waitUntil(() => kv.put(key, value, attemptMs), timeoutMs, `put ${key} through ${kv.endpoint} to be acknowledged`, 50);
}

export interface MemberStatus {
  memberId: string;
  leader: string;
  raftIndex: number;
  raftAppliedIndex: number;
  raftTerm: number;
  isLearner: boolean;
  revision: number;
}

/** Maintenance.Status of one member (gRPC). */
export async function status(endpoint: string, timeoutMs = 1000): Promise<MemberStatus> {
  const c = rpc(endpoint, "Maintenance");
  try {
    const r = await c.call<{ header: { member_id: string; revision: string }; leader: string; raftIndex: string; raftAppliedIndex: string; raftTerm: string; isLearner: boolean }>(
      "Status",
      {},
      timeoutMs,
    );
    return {
      memberId: r.header.member_id,
      leader: r.leader,
      raftIndex: Number(r.raftIndex),
      raftAppliedIndex: Number(r.raftAppliedIndex),
      raftTerm: Number(r.raftTerm),
      isLearner: r.isLearner,
      revision: Number(r.header.revision),
    };
  } finally {
    c.close();
  }
}

/**
 * Waits until every given endpoint answers Status with the same non-zero leader, the same raft index
 * and an applied index equal to it (nothing in flight), twice in a row. Returns the statuses.
 */
export async function waitConverged(endpoints: readonly string[], timeoutMs: number): Promise<MemberStatus[]> {
  let last: (MemberStatus | string)[] = [];
  let prevIndex = -1;
  return waitUntil(
    async () => {
      last = await Promise.all(endpoints.map((e) => status(e, 1000).catch((err: Error) => `${e}: ${err.message}`)));
      const ok = last.filter((s): s is MemberStatus => typeof s !== "string");
      if (ok.length !== endpoints.length) return undefined;
      const leader = ok[0]!.leader;
      const idx = ok[0]!.raftIndex;
      const same = leader !== "0" && ok.every((s) => s.leader === leader && s.raftIndex === idx && s.raftAppliedIndex === idx);
      if (!same) {
        prevIndex = -1;
        return undefined;
      }
      if (prevIndex !== idx) {
        prevIndex = idx;
        return undefined;
      }
      return ok;
    },
    timeoutMs,
    () => `${endpoints.join(", ")} to agree on the leader and the raft index; last: ${JSON.stringify(last)}`,
    150,
  );
}

// ---- etcdctl -----------------------------------------------------------------------------------

/** Debian's etcdctl (v3 API): the shared runner, endpoints as a string or a list. */
export function etcdctl(endpoints: string | readonly string[], args: readonly string[], timeoutMs = 15_000): Promise<CtlResult> {
  return sharedEtcdctl(endpoints, args, undefined, timeoutMs);
}

/** etcdctl -w json output, with 64-bit IDs (which do not fit a JS number) kept as decimal strings. */
export function parseCtlJson<T = any>(stdout: string): T {
  return JSON.parse(stdout.replace(/([:[,]\s*)(\d{16,})/g, '$1"$2"')) as T;
}

/** The error lines etcdctl prints (its retry-interceptor JSON warnings removed). */
export function ctlError(r: CtlResult): string {
  return r.stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith('{"level"'))
    .join("\n");
}

export interface CtlMember {
  ID: string;
  name?: string;
  peerURLs: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

export async function memberList(endpoint: string): Promise<CtlMember[]> {
  const r = await etcdctl(endpoint, ["member", "list", "-w", "json"]);
  if (r.code !== 0) throw new Error(`member list on ${endpoint} failed: ${r.stderr}`);
  return parseCtlJson<{ members: CtlMember[] }>(r.stdout).members;
}

export const toHex = (id: string) => BigInt(id).toString(16);

/** Maintenance.HashKV of one member at `revision` (0: its current revision). */
export async function hashKV(endpoint: string, revision = 0, timeoutMs = 5000): Promise<{ hash: number; compactRevision: number; revision: number }> {
  const c = rpc(endpoint, "Maintenance");
  try {
    const r = await c.call<{ header: { revision: string }; hash: number; compact_revision: string }>("HashKV", { revision }, timeoutMs);
    return { hash: r.hash, compactRevision: Number(r.compact_revision), revision: Number(r.header.revision) };
  } finally {
    c.close();
  }
}
