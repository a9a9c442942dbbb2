/**
 * A load generator process. The benchmark forks one per share of the connections (bench/load.ts), so that
 * generating load is spread over cores and is never done on the thread that samples and reports.
 *
 * Protocol (IPC): parent sends {job}; the worker opens its channels, runs the warm-up, answers {ready};
 * parent sends {go, startAt} to every worker at once; the worker runs the measured requests from startAt,
 * reports {progress} every 250 ms and finally {result}. {stop} ends the load early (what completed is kept).
 * The worker ignores SIGINT (the parent decides) and exits when the parent goes away.
 */
import autocannon from "autocannon";
import type { Histogram } from "hdr-histogram-js";
import { EtcdChannel, errorKind, isTimeout, prefixEnd, unary } from "./etcd-client.js";
import { keyOf, valueOf } from "./keys.js";
import type { FromWorker, LoadJob, ToWorker, WorkerResult } from "./load-job.js";
import { encodeHistogram, newHistogram, recordMs } from "./stats.js";

const send = (m: FromWorker) => process.send?.(m);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let job: LoadJob | undefined;
let stopped = false;
let goResolve: ((startAt: number) => void) | undefined;
const goPromise = new Promise<number>((r) => (goResolve = r));

process.on("SIGINT", () => {
  /* the parent stops us with {stop} and tears down; see bench/runner.ts */
});
process.on("disconnect", () => process.exit(0));
process.on("message", (m: ToWorker) => {
  if (m.type === "job") {
    job = m.job;
    main(m.job).catch((e) => {
      send({ type: "error", message: String((e as Error)?.stack ?? e) });
      setTimeout(() => process.exit(1), 50);
    });
  } else if (m.type === "go") goResolve?.(m.startAt);
  else if (m.type === "stop") {
    stopped = true;
    goResolve?.(Date.now());
  }
});

class Counters {
  sent = 0;
  ok = 0;
  errors = 0;
  timeouts = 0;
  errorKinds: Record<string, number> = {};
  perSecond: number[] = [];
  hist: Histogram = newHistogram();
  ops: Record<string, { count: number; hist: Histogram }> = {};
  endAt = 0;
  constructor(readonly startAt: number) {}

  success(ms: number, op?: string): void {
    const now = Date.now();
    this.ok++;
    recordMs(this.hist, ms);
    const sec = Math.max(0, Math.floor((now - this.startAt) / 1000));
    while (this.perSecond.length <= sec) this.perSecond.push(0);
    this.perSecond[sec]!++;
    this.endAt = now;
    if (op) {
      const o = (this.ops[op] ??= { count: 0, hist: newHistogram() });
      o.count++;
      recordMs(o.hist, ms);
    }
  }

  failure(err: unknown, op?: string): void {
    this.endAt = Date.now();
    if (isTimeout(err)) this.timeouts++;
    else this.errors++;
    const k = errorKind(err);
    if (k in this.errorKinds || Object.keys(this.errorKinds).length < 10) this.errorKinds[k] = (this.errorKinds[k] ?? 0) + 1;
    if (op) this.ops[op] ??= { count: 0, hist: newHistogram() };
  }

  result(warmupRequests: number, cpu0: NodeJS.CpuUsage, wall0: number): WorkerResult {
    const cpu = process.cpuUsage(cpu0);
    const ops: WorkerResult["ops"] = {};
    for (const [k, v] of Object.entries(this.ops)) ops[k] = { count: v.count, histogram: encodeHistogram(v.hist) };
    return {
      sent: this.sent,
      ok: this.ok,
      errors: this.errors,
      timeouts: this.timeouts,
      warmupRequests,
      errorKinds: this.errorKinds,
      perSecond: this.perSecond,
      histogram: encodeHistogram(this.hist),
      ops: Object.keys(ops).length ? ops : undefined,
      endAt: this.endAt || Date.now(),
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      wallMs: Date.now() - wall0,
    };
  }
}

/** Slot-based limiter shared by the clients of this process: at most `rate` starts per second. */
function limiter(rate: number): () => Promise<void> {
  if (!rate || rate <= 0) return async () => {};
  const interval = 1000 / rate;
  let next = 0;
  return async () => {
    const now = performance.now();
    if (next < now) next = now;
    const wait = next - now;
    next += interval;
    if (wait > 0.5) await sleep(wait);
  };
}

type OpFn = (client: number) => Promise<string | undefined>;

async function main(j: LoadJob): Promise<void> {
  if (j.op === "http-put" || j.op === "http-range") return runHttp(j);
  if (j.op === "watch-latency") return runWatchLatency(j);
  if (j.op === "lease-keepalive") return runLeaseKeepAlive(j);
  if (j.op === "lease-expiry") return runLeaseExpiry(j);
  const channels = j.channelIds.map((id) => new EtcdChannel(j.endpoints[id % j.endpoints.length]!));
  await Promise.all(channels.map((c) => c.ready(Math.max(3000, j.timeoutMs))));
  const op = makeOp(j, channels);
  const cpu0 = process.cpuUsage();

  // Warm-up: the same requests, not counted anywhere but warmupRequests.
  let warm = 0;
  await Promise.all(
    Array.from({ length: Math.min(j.clients, Math.max(1, j.warmup)) }, async (_, c) => {
      while (warm < j.warmup && !stopped) {
        warm++;
        await op(c).catch(() => undefined);
      }
    }),
  );
  send({ type: "ready" });
  const startAt = await goPromise;
  while (Date.now() < startAt) await sleep(Math.min(5, startAt - Date.now()));
  const wall0 = Date.now();
  const cpuStart = process.cpuUsage();
  void cpu0;

  const k = new Counters(startAt);
  const limit = limiter(j.rate);
  const deadline = j.durationMs != null ? startAt + j.durationMs : Infinity;
  const total = j.total ?? Number.MAX_SAFE_INTEGER;
  const progress = setInterval(() => send({ type: "progress", done: k.ok + k.errors + k.timeouts, ok: k.ok, errors: k.errors + k.timeouts }), 250);
  await Promise.all(
    Array.from({ length: j.clients }, async (_, c) => {
      for (;;) {
        if (stopped || k.sent >= total || Date.now() >= deadline) return;
        k.sent++;
        await limit();
        const t0 = performance.now();
        try {
          const tag = await op(c);
          k.success(performance.now() - t0, tag);
        } catch (e) {
          k.failure(e, (e as { op?: string }).op);
        }
      }
    }),
  );
  clearInterval(progress);
  send({ type: "result", result: k.result(warm, cpuStart, wall0) });
  for (const ch of channels) ch.close();
}

function makeOp(j: LoadJob, channels: EtcdChannel[]): OpFn {
  const chOf = (c: number) => channels[c % channels.length]!;
  const value = valueOf(j.valSize);
  const prefix = Buffer.from(j.keyPrefix);
  const end = prefixEnd(prefix);
  let seq = 0;
  const nextKey = () => {
    const i = j.sequentialKeys ? (j.keyOffset + seq++) % j.keySpaceSize : Math.floor(Math.random() * j.keySpaceSize);
    return keyOf(j.keyPrefix, i, j.keySize);
  };
  const t = j.timeoutMs;
  switch (j.op) {
    case "put":
      return async (c) => {
        await unary(chOf(c).kv(), "Put", { key: nextKey(), value }, t);
        return undefined;
      };
    case "range": {
      return async (c) => {
        const req =
          j.rangeMode === "point"
            ? { key: keyOf(j.keyPrefix, Math.floor(Math.random() * j.keySpaceSize), j.keySize), serializable: j.serializable }
            : { key: prefix, range_end: end, limit: j.limit, serializable: j.serializable, keys_only: j.keysOnly, count_only: j.countOnly };
        await unary(chOf(c).kv(), "Range", req, t);
        return undefined;
      };
    }
    case "txn-mixed": {
      const readShare = j.rwRatio / (1 + j.rwRatio);
      return async (c) => {
        const isRead = Math.random() < readShare;
        const op = isRead
          ? { request_range: { key: prefix, range_end: end, limit: j.limit, serializable: j.serializable } }
          : { request_put: { key: nextKey(), value } };
        try {
          await unary(chOf(c).kv(), "Txn", { compare: [], success: [op], failure: [] }, t);
        } catch (e) {
          throw Object.assign(e as object, { op: isRead ? "read" : "write" });
        }
        return isRead ? "read" : "write";
      };
    }
    case "lease-churn":
      return async (c) => {
        const ch = chOf(c);
        const g = await unary(ch.lease(), "LeaseGrant", { TTL: j.leaseTtl, ID: 0 }, t);
        await unary(ch.kv(), "Put", { key: nextKey(), value, lease: g.ID }, t);
        await unary(ch.lease(), "LeaseRevoke", { ID: g.ID }, t);
        return undefined;
      };
    default:
      throw new Error(`unknown load op ${j.op}`);
  }
}

/** HTTP gateway load: POST /v3/kv/put or /v3/kv/range with base64 JSON bodies, driven by autocannon. */
async function runHttp(j: LoadJob): Promise<void> {
  const urls = j.channelIds.map((id) => j.endpoints[id % j.endpoints.length]!.replace(/\/$/, ""));
  const path = j.op === "http-put" ? "/v3/kv/put" : "/v3/kv/range";
  const value = valueOf(j.valSize).toString("base64");
  let seq = 0;
  const body = () => {
    const i = j.op === "http-put" && j.sequentialKeys ? (j.keyOffset + seq++) % j.keySpaceSize : Math.floor(Math.random() * j.keySpaceSize);
    const key = keyOf(j.keyPrefix, i, j.keySize).toString("base64");
    return JSON.stringify(j.op === "http-put" ? { key, value } : { key, serializable: j.serializable });
  };
  const base = {
    url: urls.length === 1 ? urls[0]! : urls,
    connections: j.clients,
    timeout: Math.max(1, Math.ceil(j.timeoutMs / 1000)),
    headers: { "content-type": "application/json" },
    requests: [{ method: "POST", path, setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body() }) }],
    skipAggregateResult: true,
  };
  // Warm-up run, not counted.
  let warm = 0;
  if (j.warmup > 0 && !stopped) {
    const w = autocannon({ ...base, amount: Math.max(j.warmup, j.clients) } as never);
    current = w;
    w.on("response", () => warm++);
    await w;
  }
  send({ type: "ready" });
  const startAt = await goPromise;
  while (Date.now() < startAt) await sleep(Math.min(5, startAt - Date.now()));
  const wall0 = Date.now();
  const cpu0 = process.cpuUsage();
  const k = new Counters(startAt);
  if (!stopped) {
    const opts: Record<string, unknown> = { ...base };
    if (j.total != null) opts.amount = Math.max(j.total, j.clients);
    else opts.duration = Math.max(1, (j.durationMs ?? 1000) / 1000);
    if (j.rate > 0) opts.overallRate = j.rate;
    const inst = autocannon(opts as never);
    current = inst;
    inst.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      k.sent++;
      if (status >= 200 && status < 300) k.success(ms);
      else k.failure(new Error(`HTTP ${status}`));
    });
    inst.on("reqError", (err: Error) => {
      k.sent++;
      k.failure(/timeout/i.test(String(err?.message)) ? { code: 4, details: "timeout" } : err);
    });
    const progress = setInterval(() => send({ type: "progress", done: k.ok + k.errors + k.timeouts, ok: k.ok, errors: k.errors + k.timeouts }), 250);
    await inst;
    clearInterval(progress);
  }
  send({ type: "result", result: k.result(warm, cpu0, wall0) });
}
let current: { stop(): void } | undefined;
process.on("message", (m: ToWorker) => {
  if (m.type === "stop") current?.stop();
});

/**
 * Watch latency: `clients` watchers (one Watch stream each, spread over the channels) on one key, and a
 * putter writing that key at putRate. Latency = put sent to the event received, per watcher.
 */
async function runWatchLatency(j: LoadJob): Promise<void> {
  const channels = j.channelIds.map((id) => new EtcdChannel(j.endpoints[id % j.endpoints.length]!));
  await Promise.all(channels.map((c) => c.ready(Math.max(3000, j.timeoutMs))));
  const putCh = new EtcdChannel(j.endpoints[0]!);
  await putCh.ready(Math.max(3000, j.timeoutMs));
  const key = keyOf(j.keyPrefix, 0, j.keySize);
  const sentAt = new Map<number, number>();
  let measuring = false;
  let firstMeasured = Number.POSITIVE_INFINITY;
  let k = new Counters(Date.now());
  const received = new Map<number, number>();
  const streams = await Promise.all(
    Array.from({ length: j.clients }, (_, w) => {
      const call = (channels[w % channels.length]!.watch() as unknown as { Watch(): any }).Watch();
      return new Promise<any>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("watch not created within the timeout")), Math.max(3000, j.timeoutMs));
        call.on("data", (res: any) => {
          if (res.created) {
            clearTimeout(timer);
            resolve(call);
          }
          for (const ev of res.events ?? []) {
            const seq = Number.parseInt(Buffer.from(ev.kv?.value ?? "").toString(), 10);
            const t0 = sentAt.get(seq);
            if (t0 === undefined) continue;
            received.set(seq, (received.get(seq) ?? 0) + 1);
            if (measuring && seq >= firstMeasured) k.success(performance.now() - t0);
          }
        });
        call.on("error", (e: unknown) => {
          clearTimeout(timer);
          if (!stopped) k.failure(e);
          reject(e);
        });
        call.write({ create_request: { key, range_end: Buffer.alloc(0), start_revision: 0 } });
      });
    }),
  );
  const doPut = async (seq: number) => {
    sentAt.set(seq, performance.now());
    const v = Buffer.from(String(seq).padEnd(Math.max(j.valSize, 12), " "));
    await unary(putCh.kv(), "Put", { key, value: v }, j.timeoutMs);
  };
  let seq = 0;
  const limit = limiter(j.putRate);
  for (let i = 0; i < j.warmup && !stopped; i++) {
    await limit();
    await doPut(++seq).catch(() => undefined);
  }
  const warm = seq;
  send({ type: "ready" });
  const startAt = await goPromise;
  while (Date.now() < startAt) await sleep(Math.min(5, startAt - Date.now()));
  const wall0 = Date.now();
  const cpu0 = process.cpuUsage();
  await sleep(20); // let the warm-up's events drain
  k = new Counters(startAt);
  firstMeasured = seq + 1;
  measuring = true;
  const deadline = j.durationMs != null ? startAt + j.durationMs : Infinity;
  const total = j.total ?? Number.MAX_SAFE_INTEGER;
  const progress = setInterval(() => send({ type: "progress", done: k.ok + k.errors, ok: k.ok, errors: k.errors }), 250);
  const inflight: Promise<void>[] = [];
  let acked = 0;
  for (let i = 0; i < total && !stopped && Date.now() < deadline; i++) {
    await limit();
    const s = ++seq;
    k.sent += j.clients;
    inflight.push(
      doPut(s).then(
        () => void acked++,
        (e) => {
          // A failed put produces no events: count every watcher's sample as failed.
          for (let w = 0; w < j.clients; w++) k.failure(e);
          sentAt.delete(s);
        },
      ),
    );
    if (inflight.length >= 64) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
  // Wait (bounded) for the last events, then count what never arrived as timeouts.
  const drainUntil = Date.now() + Math.max(2000, j.timeoutMs);
  const expected = () => {
    let n = 0;
    for (let s = firstMeasured; s <= seq; s++) if (sentAt.has(s)) n += j.clients - Math.min(j.clients, received.get(s) ?? 0);
    return n;
  };
  while (expected() > 0 && Date.now() < drainUntil && !stopped) await sleep(20);
  const missing = expected();
  k.timeouts += missing;
  if (missing) k.errorKinds["watch event not received"] = missing;
  clearInterval(progress);
  measuring = false;
  send({ type: "result", result: k.result(warm, cpu0, wall0) });
  void acked;
  for (const s of streams) s.end?.();
  for (const ch of [...channels, putCh]) ch.close();
}

/** A gRPC-style deadline error (counted as a timeout by Counters.failure). */
function deadlineError(details: string): Error {
  return Object.assign(new Error(details), { code: 4 /* DEADLINE_EXCEEDED */, details });
}

/**
 * One lease's LeaseKeepAlive stream, used closed loop: one request in flight, the next written once the
 * answer arrived. A request unanswered within the deadline cancels the stream (the next one opens a new
 * stream, so responses can never be matched to the wrong request).
 */
class KeepAliveStream {
  private call: any;
  private waiter: { resolve: (ttl: number) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout } | undefined;
  constructor(
    private readonly ch: EtcdChannel,
    readonly id: string,
  ) {}

  private open(): any {
    const call = (this.ch.lease() as unknown as { LeaseKeepAlive(): any }).LeaseKeepAlive();
    const settle = (f: (w: NonNullable<KeepAliveStream["waiter"]>) => void) => {
      if (this.call !== call) return;
      const w = this.waiter;
      this.waiter = undefined;
      if (w) {
        clearTimeout(w.timer);
        f(w);
      }
    };
    call.on("data", (res: { TTL?: string | number }) => settle((w) => w.resolve(Number(res.TTL ?? 0))));
    call.on("error", (e: unknown) => {
      settle((w) => w.reject(e));
      if (this.call === call) this.call = undefined;
    });
    call.on("end", () => {
      settle((w) => w.reject(new Error("keep-alive stream ended by the server")));
      if (this.call === call) this.call = undefined;
    });
    this.call = call;
    return call;
  }

  /** One keep-alive; resolves with the TTL the server answered (0: the lease does not exist). */
  once(timeoutMs: number): Promise<number> {
    const call = this.call ?? this.open();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        this.reset();
        reject(deadlineError("keep-alive not answered within the deadline"));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
      call.write({ ID: this.id });
    });
  }

  reset(): void {
    const c = this.call;
    this.call = undefined;
    try {
      c?.cancel();
    } catch {
      /* gone */
    }
  }

  close(): void {
    const c = this.call;
    this.call = undefined;
    try {
      c?.end();
      c?.cancel();
    } catch {
      /* gone */
    }
  }
}

/** Run `f` over items with at most `n` in flight. */
async function pool<T>(items: T[], n: number, f: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await f(items[i]!, i);
      }
    }),
  );
}

/**
 * Lease keep-alive throughput: `clients` leases (granted before the warm-up, not measured), each with its
 * own LeaseKeepAlive stream on channel (lease % channels), each stream closed loop. A "request" is one
 * keep-alive; latency = request written to response received. A response with TTL 0 (the lease is gone)
 * is an error. The leases are revoked at the end, before the result is reported, so that they cannot
 * expire during the next trial.
 */
async function runLeaseKeepAlive(j: LoadJob): Promise<void> {
  const channels = j.channelIds.map((id) => new EtcdChannel(j.endpoints[id % j.endpoints.length]!));
  await Promise.all(channels.map((c) => c.ready(Math.max(3000, j.timeoutMs))));
  const chOf = (c: number) => channels[c % channels.length]!;
  const ids: string[] = Array(j.clients).fill("");
  await pool(ids, 32, async (_, c) => {
    const g = await unary(chOf(c).lease(), "LeaseGrant", { TTL: j.leaseTtl, ID: 0 }, j.timeoutMs);
    ids[c] = String(g.ID);
  });
  const streams = ids.map((id, c) => new KeepAliveStream(chOf(c), id));
  const keepAlive = async (s: KeepAliveStream) => {
    const ttl = await s.once(j.timeoutMs);
    if (!(ttl > 0)) throw new Error("keep-alive answered TTL 0 (lease not found)");
  };

  // Warm-up: opens every stream (one keep-alive each), then --warmup more, not counted.
  let warm = 0;
  await pool(streams, streams.length, async (s) => {
    warm++;
    await keepAlive(s).catch(() => undefined);
  });
  await Promise.all(
    streams.slice(0, Math.max(1, Math.min(streams.length, j.warmup))).map(async (s) => {
      while (warm < j.clients + j.warmup && !stopped) {
        warm++;
        await keepAlive(s).catch(() => undefined);
      }
    }),
  );
  send({ type: "ready" });
  const startAt = await goPromise;
  while (Date.now() < startAt) await sleep(Math.min(5, startAt - Date.now()));
  const wall0 = Date.now();
  const cpu0 = process.cpuUsage();
  const k = new Counters(startAt);
  const limit = limiter(j.rate);
  const deadline = j.durationMs != null ? startAt + j.durationMs : Infinity;
  const total = j.total ?? Number.MAX_SAFE_INTEGER;
  const progress = setInterval(() => send({ type: "progress", done: k.ok + k.errors + k.timeouts, ok: k.ok, errors: k.errors + k.timeouts }), 250);
  await Promise.all(
    streams.map(async (s) => {
      for (;;) {
        if (stopped || k.sent >= total || Date.now() >= deadline) return;
        k.sent++;
        await limit();
        const t0 = performance.now();
        try {
          await keepAlive(s);
          k.success(performance.now() - t0);
        } catch (e) {
          k.failure(e);
        }
      }
    }),
  );
  clearInterval(progress);
  const result = k.result(warm, cpu0, wall0);
  for (const s of streams) s.close();
  // Clean up (bounded): a lease left behind would expire, and be revoked by the server, during the next trial.
  const until = Date.now() + 10_000;
  await pool(ids, 32, async (id, c) => {
    if (Date.now() < until) await unary(chOf(c).lease(), "LeaseRevoke", { ID: id }, Math.min(j.timeoutMs, 2000)).catch(() => undefined);
  });
  send({ type: "result", result });
  for (const ch of channels) ch.close();
}

/**
 * Lease expiry notice time. `clients` slots, started evenly spread over TTL + 1 s (so that the expiries
 * fall at every phase of the server's expiry loop); each slot (one lease each in the lease-expiry
 * workload, until `total` / the deadline in general, with a random pause in between): open a Watch
 * on a key of its own, LeaseGrant(leaseTtl), Put the key attached to the lease, then wait for the
 * DELETE event. A "request" is one lease; its latency = DELETE event received − (grant response
 * received + granted TTL), i.e. how long after its nominal expiry a watcher learns that the lease is
 * gone (negative values, a lease revoked before its nominal expiry as the client saw it, are recorded
 * as 0). A lease whose DELETE does not arrive within 5 s (or --timeout) after the nominal expiry is a
 * timeout. `ops` holds the same samples keyed by the TTL the server granted ("ttl-2s").
 */
async function runLeaseExpiry(j: LoadJob): Promise<void> {
  const channels = j.channelIds.map((id) => new EtcdChannel(j.endpoints[id % j.endpoints.length]!));
  await Promise.all(channels.map((c) => c.ready(Math.max(3000, j.timeoutMs))));
  const chOf = (c: number) => channels[c % channels.length]!;
  const value = valueOf(j.valSize);
  const t = j.timeoutMs;
  // Warm-up: a Range on every channel (connections and services up); nothing else is worth warming.
  let warm = 0;
  for (const ch of channels) {
    warm++;
    await unary(ch.kv(), "Range", { key: Buffer.from(j.keyPrefix), serializable: true }, t).catch(() => undefined);
  }
  const leftovers: Array<{ ch: EtcdChannel; id: string }> = [];

  const oneLease = async (c: number, n: number): Promise<{ ms: number; ttl: number }> => {
    const ch = chOf(c);
    const key = keyOf(`${j.keyPrefix}${c}-`, n, j.keySize);
    const call = (ch.watch() as unknown as { Watch(): any }).Watch();
    let onCreated!: () => void;
    let onDeleted!: (at: number) => void;
    let onFail!: (e: unknown) => void;
    const created = new Promise<void>((r) => (onCreated = r));
    const deleted = new Promise<number>((r) => (onDeleted = r));
    const failed = new Promise<never>((_, rej) => (onFail = rej));
    failed.catch(() => undefined);
    call.on("data", (res: any) => {
      if (res.created) onCreated();
      if (res.canceled) onFail(new Error(`watch canceled${res.cancel_reason ? `: ${res.cancel_reason}` : ""}`));
      for (const ev of res.events ?? []) if (ev.type === 1 || ev.type === "DELETE") onDeleted(performance.now());
    });
    call.on("error", (e: unknown) => onFail(e));
    let id: string | undefined;
    const timer = (ms: number, what: string) => {
      let h!: NodeJS.Timeout;
      const p = new Promise<never>((_, rej) => (h = setTimeout(() => rej(deadlineError(what)), Math.max(0, ms))));
      p.catch(() => undefined);
      return { p, clear: () => clearTimeout(h) };
    };
    try {
      call.write({ create_request: { key, range_end: Buffer.alloc(0), start_revision: 0 } });
      const tc = timer(t, "watch not created within the deadline");
      try {
        await Promise.race([created, failed, tc.p]);
      } finally {
        tc.clear();
      }
      const g = await unary(ch.lease(), "LeaseGrant", { TTL: j.leaseTtl, ID: 0 }, t);
      const grantedAt = performance.now();
      id = String(g.ID);
      const ttl = Number(g.TTL);
      await unary(ch.kv(), "Put", { key, value, lease: id }, t);
      const nominal = grantedAt + ttl * 1000;
      const te = timer(nominal + Math.max(5000, t) - performance.now(), "expiry not noticed within 5 s of the nominal expiry");
      let at: number;
      try {
        at = await Promise.race([deleted, failed, te.p]);
      } finally {
        te.clear();
      }
      id = undefined;
      return { ms: Math.max(0, at - nominal), ttl };
    } finally {
      if (id) leftovers.push({ ch, id });
      try {
        call.cancel();
      } catch {
        /* gone */
      }
    }
  };

  send({ type: "ready" });
  const startAt = await goPromise;
  while (Date.now() < startAt) await sleep(Math.min(5, startAt - Date.now()));
  const wall0 = Date.now();
  const cpu0 = process.cpuUsage();
  const k = new Counters(startAt);
  const deadline = j.durationMs != null ? startAt + j.durationMs : Infinity;
  const total = j.total ?? Number.MAX_SAFE_INTEGER;
  const spacing = (j.leaseTtl * 1000 + 1000) / Math.max(1, j.clients);
  // An even share per slot, so that a slot done early cannot take a later slot's (staggered) start.
  const perSlot = j.total != null ? Math.ceil(j.total / Math.max(1, j.clients)) : Infinity;
  const progress = setInterval(() => send({ type: "progress", done: k.ok + k.errors + k.timeouts, ok: k.ok, errors: k.errors + k.timeouts }), 250);
  await Promise.all(
    Array.from({ length: j.clients }, async (_, c) => {
      const startSlot = startAt + c * spacing;
      while (Date.now() < startSlot && !stopped) await sleep(Math.min(50, startSlot - Date.now()));
      for (let n = 0; n < perSlot; n++) {
        if (stopped || k.sent >= total || Date.now() >= deadline) return;
        k.sent++; // taken before any await: never more than `total` leases
        // A slot's next lease would start in phase with the server's expiry loop (the DELETE came from one
        // of its ticks): a random pause of up to 1 s breaks that.
        if (n > 0) await sleep(Math.random() * 1000);
        try {
          const r = await oneLease(c, n);
          k.success(r.ms, `ttl-${r.ttl}s`);
        } catch (e) {
          k.failure(e);
        }
      }
    }),
  );
  clearInterval(progress);
  const result = k.result(warm, cpu0, wall0);
  await pool(leftovers, 16, async (l) => void (await unary(l.ch.lease(), "LeaseRevoke", { ID: l.id }, Math.min(t, 2000)).catch(() => undefined)));
  send({ type: "result", result });
  for (const ch of channels) ch.close();
}

void job;
