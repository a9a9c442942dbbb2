/**
 * etcd's HashByRev: CRC-32C over the key bucket's name and its rows with revision <= rev, the rows
 * at or below the compacted revision only if compaction keeps them. The rows are byte-identical to
 * etcd's, so the hash matches a real etcd's for the same history.
 */
import type { Bucket } from "../backend/backend.js";
import { EventType } from "../pb/kv.js";
import { Crc32c } from "./crc32c.js";
import { encodeKeyValue, encodeTombstone } from "./kv-codec.js";
import type { PendingRevisions } from "./pending-revisions.js";
import { bytesToMain, mainRevPrefix, revId, revIdOfKey, revToBytes } from "./revision.js";
import type { TreeIndex } from "./tree-index.js";

const KEY_BUCKET_NAME = Buffer.from("key");

/**
 * `rev` must be checked already (compactRev < rev <= current). Committed rows are read from the
 * backend; rows of revisions whose batch has not committed yet are re-encoded from `pending`.
 */
export function hashByRev(keys: Bucket, index: TreeIndex, pending: PendingRevisions, compactRev: number, rev: number): number {
  const keep = index.keep(rev, revId);
  const lower = compactRev + 1;
  const h = new Crc32c().update(KEY_BUCKET_NAME);
  const include = (key: Buffer): boolean => !(bytesToMain(key) < lower && keep.size > 0 && !keep.has(revIdOfKey(key)));
  const firstPending = pending.firstMain();
  const committedTo = Math.min(rev, firstPending - 1);
  for (const { key, value } of keys.getRange({ end: mainRevPrefix(committedTo + 1) })) {
    if (include(key)) h.update(key).update(value);
  }
  for (let main = Math.max(firstPending, 1); main <= rev; main++) {
    const evs = pending.get(main);
    if (!evs) continue;
    evs.forEach((ev, sub) => {
      const put = ev.type === EventType.Put;
      const key = revToBytes(main, sub, !put);
      if (include(key)) h.update(key).update(put ? encodeKeyValue(ev.kv) : encodeTombstone(ev.kv.key));
    });
  }
  return h.digest();
}
