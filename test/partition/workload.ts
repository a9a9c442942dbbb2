/**
 * The client side of the partition tests: clients that retry like clientv3 (support/clientv3-retry)
 * run put / delete / linearizable get on a few keys, every op recorded for the linearizability
 * checker. Values are unique per write (`c<client>-<seq>`), so a value stored twice is visible.
 */
import { HistoryRecorder } from "../linearizability/index.js";
import { Code, RetryingClient, type CallResult } from "../support/clientv3-retry.js";

export interface WorkloadOptions {
  readonly endpoints: readonly string[];
  readonly clients: number;
  readonly keys: readonly string[];
  /** Each op's context (clientv3: the caller's ctx deadline). */
  readonly opTimeoutMs: number;
  /** No client sends more ops than this (the load is bounded even if `stop` never comes). */
  readonly maxOpsPerClient: number;
  readonly rand: () => number;
}

export interface WorkloadStats {
  ok: number;
  /** Writes whose outcome the client cannot know (recorded as "unknown"). */
  unknownWrites: number;
  failedReads: number;
  /** Retries clientv3 would make because the server answered DEADLINE_EXCEEDED / CANCELLED early. */
  ctxErrorRetries: number;
  /** Attempts answered by the server itself with DEADLINE_EXCEEDED or CANCELLED, by "method code message". */
  serverCtxErrors: Map<string, number>;
  /** Every error a client got, by "method code message" (for the log). */
  errors: Map<string, number>;
}

export class Workload {
  readonly rec = new HistoryRecorder();
  readonly stats: WorkloadStats = { ok: 0, unknownWrites: 0, failedReads: 0, ctxErrorRetries: 0, serverCtxErrors: new Map(), errors: new Map() };
  private stopping = false;
  private readonly clients: RetryingClient[] = [];

  constructor(private readonly o: WorkloadOptions) {}

  /** Runs every client until stop() (or its op bound); resolves when all have finished their last op. */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.clients }, (_, i) => this.client(i)));
  }

  stop(): void {
    this.stopping = true;
  }

  close(): void {
    for (const c of this.clients) c.close();
  }

  private note<T>(method: string, r: CallResult<T>): void {
    if (r.ok) this.stats.ok++;
    this.stats.ctxErrorRetries += r.ctxErrorRetries;
    if (r.ctxErrorRetries > 0) bump(this.stats.serverCtxErrors, `${method} retried after a server-sent context error`, r.ctxErrorRetries);
    if (r.error) {
      bump(this.stats.errors, `${method} ${r.error.code} ${r.error.message}`);
      if (r.error.fromServer && (r.error.code === Code.DEADLINE_EXCEEDED || r.error.code === Code.CANCELLED)) {
        bump(this.stats.serverCtxErrors, `${method} ${r.error.code} ${r.error.message}`);
      }
    }
  }

  private async client(id: number): Promise<void> {
    const c = new RetryingClient(this.o.endpoints);
    this.clients.push(c);
    const { rec, stats, o } = this;
    for (let seq = 0; seq < o.maxOpsPerClient && !this.stopping; seq++) {
      const key = o.keys[Math.floor(o.rand() * o.keys.length)]!;
      const r = o.rand();
      if (r < 0.4) {
        const tok = rec.begin(id, "get", { key });
        const res = await c.call<{ kvs: { value: Buffer }[] }>("Range", { key: Buffer.from(key) }, o.opTimeoutMs);
        this.note("Range", res);
        if (res.ok) rec.end(tok, res.response!.kvs[0] ? res.response!.kvs[0].value.toString() : null);
        else {
          rec.fail(tok, "definite"); // a read that failed changed nothing
          stats.failedReads++;
        }
      } else if (r < 0.85) {
        const value = `c${id}-${seq}`;
        const tok = rec.begin(id, "put", { key, value });
        const res = await c.call("Put", { key: Buffer.from(key), value: Buffer.from(value) }, o.opTimeoutMs);
        this.note("Put", res);
        if (res.ok) rec.end(tok);
        else {
          rec.fail(tok, "unknown");
          stats.unknownWrites++;
        }
      } else {
        const tok = rec.begin(id, "delete", { key });
        const res = await c.call<{ deleted: string }>("DeleteRange", { key: Buffer.from(key) }, o.opTimeoutMs);
        this.note("DeleteRange", res);
        if (res.ok) rec.end(tok, Number(res.response!.deleted));
        else {
          rec.fail(tok, "unknown");
          stats.unknownWrites++;
        }
      }
    }
  }
}

function bump(m: Map<string, number>, k: string, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

export function formatCounts(m: Map<string, number>): string {
  return [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n}x ${k}`).join("; ") || "none";
}
