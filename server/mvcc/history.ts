import type { Bucket } from "../backend/backend.js";
import { EventType, type Event } from "../pb/kv.js";
import { decodeKeyValue } from "./kv-codec.js";
import { bytesToMain, isTombstoneKey, mainRevPrefix, revToBytes } from "./revision.js";
import { tombstoneKv } from "./write-txn.js";

/**
 * A private copy of a buffer lmdb-js may reuse (its "fast" buffers carry an own `length`).
 * Buffer.allocUnsafe takes small buffers from Node's pool: far cheaper than a fresh ArrayBuffer
 * (Buffer.from/copyBytesFrom/slice), which dominated reads.
 */
export function copyOut(raw: Buffer): Buffer {
  const n = raw.length;
  const out = Buffer.allocUnsafe(n);
  out.set(new Uint8Array(raw.buffer, raw.byteOffset, n));
  return out;
}

/**
 * Appends to `out` the events of the committed revisions [from, to] of the key bucket, in revision
 * order, each passed through `withPrev`. With `limit` > 0 it stops before the first revision that
 * starts once `out` holds `limit` events (whole revisions only); returns false when it stopped so.
 */
export function committedEvents(keys: Bucket, from: number, to: number, limit: number, out: Event[], withPrev: (ev: Event, main: number) => Event): boolean {
  let lastMain = -1;
  for (const { key, value } of keys.getRange({ start: revToBytes(from, 0), end: mainRevPrefix(to + 1) })) {
    const m = bytesToMain(key);
    if (limit > 0 && out.length >= limit && m !== lastMain) return false;
    lastMain = m;
    const kv = decodeKeyValue(copyOut(value));
    if (isTombstoneKey(key)) out.push(withPrev({ type: EventType.Delete, kv: tombstoneKv(kv.key, m) }, m));
    else out.push(withPrev({ type: EventType.Put, kv }, m));
  }
  return true;
}
