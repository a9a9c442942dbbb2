/** The watch-latency runner of a load generator process (bench/load-worker.ts). */
import { EtcdChannel, unary } from "./etcd-client.js";
import { keyOf } from "./keys.js";
import { Counters } from "./load-counters.js";
import type { LoadJob } from "./load-job.js";
import { openWatch, watchKey, type WatchCall, type WatchResponse } from "./watch-stream.js";
import { limiter, measuredEnd, openChannels, readyThenStart, send, sleep, type WorkerControl } from "./worker-context.js";

/**
 * Watch latency: `clients` watchers (one Watch stream each, spread over the channels) on one key, and a
 * putter writing that key at putRate. Latency = put sent to the event received, per watcher.
 */
export async function runWatchLatency(j: LoadJob, ctl: WorkerControl): Promise<void> {
  const channels = await openChannels(j);
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
      const call = openWatch(channels[w % channels.length]!);
      return new Promise<WatchCall>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("watch not created within the timeout")), Math.max(3000, j.timeoutMs));
        call.on("data", (res: WatchResponse) => {
          if (res.created) {
            clearTimeout(timer);
            resolve(call);
          }
          // The put's sequence number is the value's prefix.
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
          if (!ctl.stopped) k.failure(e);
          reject(e);
        });
        call.write(watchKey(key));
      });
    }),
  );
  const doPut = async (seq: number) => {
    sentAt.set(seq, performance.now());
    const v = Buffer.from(String(seq).padEnd(Math.max(j.valSize, 12), " "));
    await unary(putCh.kv(), "Put", { key, value: v }, j.timeoutMs);
  };
  let seq = 0;
  const limit = limiter(j.putRate) ?? (async () => {});
  for (let i = 0; i < j.warmup && !ctl.stopped; i++) {
    await limit();
    await doPut(++seq).catch(() => undefined);
  }
  const warm = seq;
  const { startAt, wall0, cpu0 } = await readyThenStart(ctl);
  await sleep(20); // let the warm-up's events drain
  k = new Counters(startAt);
  firstMeasured = seq + 1;
  measuring = true;
  const { deadline, total } = measuredEnd(j, startAt);
  // Timeouts are only known at the end (events that never arrived), so progress leaves them out.
  const progress = setInterval(() => send({ type: "progress", done: k.ok + k.errors, ok: k.ok, errors: k.errors }), 250);
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total && !ctl.stopped && Date.now() < deadline; i++) {
    await limit();
    const s = ++seq;
    k.sent += j.clients;
    inflight.push(
      doPut(s).then(
        () => undefined,
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
  while (expected() > 0 && Date.now() < drainUntil && !ctl.stopped) await sleep(20);
  const missing = expected();
  k.timeouts += missing;
  if (missing) k.errorKinds["watch event not received"] = missing;
  clearInterval(progress);
  measuring = false;
  send({ type: "result", result: k.result(warm, cpu0, wall0) });
  for (const s of streams) s.end();
  for (const ch of [...channels, putCh]) ch.close();
}
