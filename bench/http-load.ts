/** The HTTP gateway runner of a load generator process (bench/load-worker.ts). */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { keyOf, valueOf } from "./keys.js";
import { Counters } from "./load-counters.js";
import type { LoadJob } from "./load-job.js";
import { readyThenStart, reportProgress, send, type WorkerControl } from "./worker-context.js";

/** HTTP gateway load: POST /v3/kv/put or /v3/kv/range with base64 JSON bodies, driven by autocannon. */
export async function runHttp(j: LoadJob, ctl: WorkerControl): Promise<void> {
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
    // a cluster with auth on: the gateway takes the token in Authorization (bench/endpoint-auth.ts)
    headers: { "content-type": "application/json", ...(j.token ? { authorization: j.token } : {}) },
    requests: [{ method: "POST", path, setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body() }) }],
    skipAggregateResult: true,
    // https endpoints: the registered CA and client certificate (bench/endpoint-tls.ts).
    ...(j.tls ? { tlsOptions: { ca: readFileSync(j.tls.ca), cert: readFileSync(j.tls.cert), key: readFileSync(j.tls.key) } } : {}),
  };
  // Warm-up run, not counted.
  let warm = 0;
  if (j.warmup > 0 && !ctl.stopped) {
    const w = autocannon({ ...base, amount: Math.max(j.warmup, j.clients) } as never);
    ctl.stopAlso(w);
    w.on("response", () => warm++);
    await w;
  }
  const { startAt, wall0, cpu0 } = await readyThenStart(ctl);
  const k = new Counters(startAt);
  if (!ctl.stopped) {
    const opts: Record<string, unknown> = { ...base };
    if (j.total != null) opts.amount = Math.max(j.total, j.clients);
    else opts.duration = Math.max(1, (j.durationMs ?? 1000) / 1000);
    if (j.rate > 0) opts.overallRate = j.rate;
    const inst = autocannon(opts as never);
    ctl.stopAlso(inst);
    inst.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      k.sent++;
      if (status >= 200 && status < 300) k.success(ms);
      else k.failure(new Error(`HTTP ${status}`));
    });
    inst.on("reqError", (err: Error) => {
      k.sent++;
      // Shaped like a gRPC deadline error, so that Counters counts it as a timeout.
      k.failure(/timeout/i.test(String(err?.message)) ? { code: 4, details: "timeout" } : err);
    });
    const progress = reportProgress(k);
    await inst;
    clearInterval(progress);
  }
  send({ type: "result", result: k.result(warm, cpu0, wall0) });
}
