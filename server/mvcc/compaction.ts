/**
 * The physical part of a compaction (etcd's scheduleCompaction): first the in-memory key index,
 * then the backend rows of revisions <= rev that the index no longer keeps, in batches, yielding
 * to the event loop between them so a large compaction does not stall requests. The store has
 * already made reads below `rev` fail and recorded the scheduled revision.
 */
import type { Backend, Bucket } from "../backend/backend.js";
import type { KeyIndex } from "./key-index.js";
import { bytesToMain, bytesToSub, mainRevPrefix, REV_BYTES_LEN, revId, revIdOfKey, revToBytes } from "./revision.js";
import type { TreeIndex } from "./tree-index.js";

/** Meta rows (etcd's): the compaction asked for, and the last one whose rows are all gone. */
export const META_SCHEDULED_COMPACT = Buffer.from("scheduledCompactRev");
export const META_FINISHED_COMPACT = Buffer.from("finishedCompactRev");

export interface CompactionTarget {
  /** The key index (asked each time: a restore replaces it). */
  index(): TreeIndex;
  readonly keys: Bucket;
  readonly meta: Bucket;
  readonly backend: Pick<Backend, "committed">;
  /** Throws when the store is closing or being restored (the compaction resumes at next open). */
  checkRunning(): void;
  readonly log: { info(msg: string, fields?: Record<string, unknown>): void };
  /** Rows deleted per backend batch (etcd: 1000). */
  readonly batchLimit: number;
  /** Keys compacted per step of the index compaction. */
  readonly indexBatch: number;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function compactHistory(t: CompactionTarget, rev: number): Promise<void> {
  const started = Date.now();
  t.checkRunning();
  await t.backend.committed();
  const idOf = revId;

  // 1. the in-memory index, a batch of keys at a time
  const available = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    t.checkRunning();
    const batch: KeyIndex[] = [];
    const visit = (ki: KeyIndex) => {
      batch.push(ki);
      return batch.length < t.indexBatch;
    };
    if (cursor === undefined) t.index().visitAll("", undefined, visit);
    else t.index().visitAll(cursor, undefined, visit, true);
    for (const ki of batch) {
      ki.compact(rev, available, idOf);
      if (ki.isEmpty()) t.index().remove(ki.key);
    }
    if (batch.length < t.indexBatch) break;
    cursor = batch[batch.length - 1]!.key;
    await yieldToLoop();
  }

  // 2. the backend rows of revisions <= rev that are not kept
  const end = mainRevPrefix(rev + 1);
  let start: Buffer = Buffer.alloc(REV_BYTES_LEN);
  let deletedRows = 0;
  for (;;) {
    t.checkRunning();
    const rows = t.keys.keys({ start, end, limit: t.batchLimit });
    for (const k of rows) {
      if (!available.has(revIdOfKey(k))) {
        t.keys.remove(k);
        deletedRows++;
      }
    }
    if (rows.length < t.batchLimit) {
      t.meta.put(META_FINISHED_COMPACT, revToBytes(rev, 0));
      break;
    }
    const last = rows[rows.length - 1]!;
    start = revToBytes(bytesToMain(last), bytesToSub(last) + 1);
    await yieldToLoop();
  }
  await t.backend.committed();
  t.log.info("mvcc: finished scheduled compaction", { compactRevision: rev, deletedRows, tookMs: Date.now() - started });
}
