/**
 * Every revision of every key under a prefix, read back from a member with a Watch from revision 1
 * (nothing may have been compacted): the evidence for "no value was stored at two revisions".
 * A sentinel key is written under the prefix at the end, so the reader knows it has seen all.
 */
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/pb/grpc-services.js";

export interface KvEvent {
  readonly type: "PUT" | "DELETE";
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
}

function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]!++;
  return end;
}

/** All PUT and DELETE events under `prefix` since revision 1, in revision order (the sentinel excluded). */
export async function prefixHistory(endpoint: string, prefix: string, timeoutMs = 20_000): Promise<KvEvent[]> {
  const sentinel = `${prefix}~history-end-${process.pid}-${Date.now()}`;
  const KV = clientConstructor("etcdserverpb", "KV");
  const Watch = clientConstructor("etcdserverpb", "Watch");
  const kv = new KV(endpoint, grpc.credentials.createInsecure());
  const w = new Watch(endpoint, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": -1 });
  const events: KvEvent[] = [];
  try {
    return await new Promise<KvEvent[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`history of ${prefix} on ${endpoint} not read within ${timeoutMs} ms (${events.length} events so far)`)), timeoutMs);
      const stream = (w.Watch as () => grpc.ClientDuplexStream<object, WatchResponse>).call(w);
      stream.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      let putSentinel = false;
      stream.on("data", (r: WatchResponse) => {
        if (r.created && !putSentinel) {
          putSentinel = true;
          (kv.Put as (req: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void).call(
            kv,
            { key: Buffer.from(sentinel), value: Buffer.from("end") },
            { deadline: Date.now() + timeoutMs },
            (e) => {
              if (e) {
                clearTimeout(timer);
                reject(e);
              }
            },
          );
        }
        if (r.compact_revision && r.compact_revision !== "0") {
          clearTimeout(timer);
          reject(new Error(`history of ${prefix} was compacted at ${r.compact_revision}`));
        }
        for (const ev of r.events ?? []) {
          const key = ev.kv.key.toString();
          if (key === sentinel) {
            clearTimeout(timer);
            stream.cancel();
            resolve(events);
            return;
          }
          events.push({ type: ev.type === 1 ? "DELETE" : "PUT", key, value: ev.kv.value.toString(), modRevision: Number(ev.kv.mod_revision) });
        }
      });
      stream.write({ create_request: { key: Buffer.from(prefix), range_end: prefixEnd(prefix), start_revision: 1 } });
    });
  } finally {
    kv.close();
    w.close();
  }
}

interface WatchResponse {
  created?: boolean;
  compact_revision?: string;
  events?: { type: number; kv: { key: Buffer; value: Buffer; mod_revision: string } }[];
}

/** Values written by more than one PUT (each with the revisions it was stored at). Values must be unique per write. */
export function valuesStoredTwice(events: readonly KvEvent[]): Array<{ value: string; keys: string[]; revisions: number[] }> {
  const byValue = new Map<string, KvEvent[]>();
  for (const e of events) {
    if (e.type !== "PUT") continue;
    const l = byValue.get(e.value) ?? [];
    l.push(e);
    byValue.set(e.value, l);
  }
  return [...byValue.entries()]
    .filter(([, l]) => l.length > 1)
    .map(([value, l]) => ({ value, keys: [...new Set(l.map((e) => e.key))], revisions: l.map((e) => e.modRevision) }));
}
