/**
 * Throughput figures for the storage engine (not a test): node --import tsx test/mvcc/bench-kv.ts
 *   - applies/s of 256-byte puts, 1 and 100 puts per write transaction (through applyPut, with
 *     a consistent index per transaction; the event loop is yielded every 1000 transactions so
 *     lmdb commits as it would under a server), ending when everything is committed;
 *   - ranges/s of a single key (applyRange), keys already committed to lmdb, and right after
 *     being written (served from the not-yet-committed overlay).
 * BENCH_N=<puts> (default 200000), BENCH_KEYS=<distinct keys> (default 100000).
 */
import { rmSync } from "node:fs";
import { Backend, backendPath } from "../../server/backend/index.js";
import { MvccStore } from "../../server/mvcc/index.js";
import { applyPut, applyRange } from "../../server/etcdserver/apply/apply.js";
import { putReq, rangeReq, tempDir } from "./helpers.js";

const N = Number(process.env.BENCH_N ?? 200_000);
const KEYS = Number(process.env.BENCH_KEYS ?? 100_000);
const value = "v".repeat(256);
const keyOf = (i: number) => `key-${String(i % KEYS).padStart(8, "0")}`;
const tick = () => new Promise<void>((r) => setImmediate(r));

async function putBench(batch: number): Promise<number> {
  const dir = tempDir("etcd-ts-bench-");
  const backend = Backend.open(backendPath(dir));
  const store = MvccStore.open(backend);
  const reqs = Array.from({ length: N }, (_, i) => putReq(keyOf((i * 7919) % N), value));
  const t0 = performance.now();
  let ci = 0;
  for (let i = 0; i < N; i += batch) {
    store.write(++ci, (txn) => {
      for (let j = i; j < i + batch && j < N; j++) applyPut(txn, reqs[j]!);
    });
    if (ci % 1000 === 0) await tick();
  }
  await backend.committed();
  const secs = (performance.now() - t0) / 1000;
  const size = backend.size();
  await store.close();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`put 256B, ${batch}/txn: ${Math.round(N / secs).toLocaleString()} puts/s (${Math.round(N / batch / secs).toLocaleString()} txns/s), db ${(size / 1e6).toFixed(1)} MB`);
  return N / secs;
}

async function rangeBench(): Promise<void> {
  const dir = tempDir("etcd-ts-bench-");
  const backend = Backend.open(backendPath(dir));
  const store = MvccStore.open(backend);
  let ci = 0;
  for (let i = 0; i < KEYS; i += 100) {
    store.write(++ci, (txn) => {
      for (let j = i; j < i + 100 && j < KEYS; j++) applyPut(txn, putReq(keyOf(j), value));
    });
  }
  await backend.committed();
  const R = 300_000;
  const reqs = Array.from({ length: 1000 }, (_, i) => rangeReq(keyOf((i * 7919) % KEYS)));
  let t0 = performance.now();
  let n = 0;
  for (let i = 0; i < R; i++) n += applyRange(store, reqs[i % 1000]!).kvs.length;
  let secs = (performance.now() - t0) / 1000;
  console.log(`range 1 key (committed, from lmdb): ${Math.round(R / secs).toLocaleString()} ranges/s (${n === R ? "all found" : `${n} found`})`);

  // every key rewritten in one turn, read before lmdb commits it: served from the overlay
  for (let i = 0; i < 1000; i++) store.write(++ci, (txn) => applyPut(txn, putReq(keyOf((i * 7919) % KEYS), value + "2")));
  t0 = performance.now();
  for (let i = 0; i < R; i++) applyRange(store, reqs[i % 1000]!);
  secs = (performance.now() - t0) / 1000;
  console.log(`range 1 key (just written, overlay):  ${Math.round(R / secs).toLocaleString()} ranges/s`);

  const pre = rangeReq("key-0000", "key-0001");
  t0 = performance.now();
  const RR = 2000;
  let kvs = 0;
  for (let i = 0; i < RR; i++) kvs += applyRange(store, pre).kvs.length;
  secs = (performance.now() - t0) / 1000;
  console.log(`range of ${kvs / RR} keys: ${Math.round(RR / secs).toLocaleString()} ranges/s (${Math.round(kvs / secs).toLocaleString()} kvs/s)`);
  await store.close();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
}

// `node --test dist/test/` runs every file under test/: the figures are only wanted on request
if (process.env.NODE_TEST_CONTEXT === undefined) {
  await putBench(1);
  await putBench(100);
  await rangeBench();
}
