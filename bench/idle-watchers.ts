/**
 * Idle prefix watchers for the put-idle-watchers workload: many watchers on prefixes that no put of the
 * trial matches, held open during the trial. They cost nothing if the server finds a key's watchers with
 * an interval structure (etcd's adt.IntervalTree), and a scan per event if it does not.
 */
import { EtcdChannel, prefixEnd } from "./etcd-client.js";
import { openWatch, type WatchCall, type WatchResponse } from "./watch-stream.js";

export interface IdleWatchers {
  readonly count: number;
  close(): void;
}

/**
 * Opens `n` prefix watchers `<prefix><i>/` spread over `streams` Watch streams (one connection each, round
 * robin over the endpoints; clientv3 also puts all the watchers of one client on one stream), and resolves
 * once the server confirmed every one. Rejects (closing what it opened) on a cancel, a stream error or
 * when they are not all created within `timeoutMs`.
 */
export async function openIdleWatchers(endpoints: string[], n: number, streams: number, prefix: string, timeoutMs: number, signal?: AbortSignal): Promise<IdleWatchers> {
  const s = Math.max(1, Math.min(streams, n));
  const channels = Array.from({ length: s }, (_, i) => new EtcdChannel(endpoints[i % endpoints.length]!));
  const calls: WatchCall[] = [];
  const close = () => {
    for (const c of calls) {
      try {
        c.cancel();
      } catch {
        /* gone */
      }
    }
    for (const ch of channels) ch.close();
  };
  try {
    await Promise.all(channels.map((ch) => ch.ready(Math.max(3000, timeoutMs))));
    await Promise.all(
      channels.map((ch, si) => {
        const call = openWatch(ch);
        calls.push(call);
        const mine = Math.floor(n / s) + (si < n % s ? 1 : 0);
        return new Promise<void>((resolve, reject) => {
          let created = 0;
          const timer = setTimeout(() => reject(new Error(`${created}/${mine} idle watchers created within ${timeoutMs} ms`)), timeoutMs);
          const abort = () => reject(new Error("interrupted"));
          signal?.addEventListener("abort", abort, { once: true });
          const done = (f: () => void) => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", abort);
            f();
          };
          call.on("data", (res: WatchResponse) => {
            if (res.canceled) done(() => reject(new Error(`idle watcher canceled${res.cancel_reason ? `: ${res.cancel_reason}` : ""}`)));
            else if (res.created && ++created === mine) done(resolve);
          });
          call.on("error", (e: unknown) => done(() => reject(e)));
          for (let i = si; i < n; i += s) {
            const key = Buffer.from(`${prefix}${i}/`);
            call.write({ create_request: { key, range_end: prefixEnd(key), start_revision: 0 } });
          }
        });
      }),
    );
  } catch (e) {
    close();
    throw e;
  }
  return { count: n, close };
}
