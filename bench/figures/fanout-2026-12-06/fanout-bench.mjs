#!/usr/bin/env node
// The store -> session part of a watch fan-out, in one process: N puts, each to W prefix watchers on 10 WatchSessions
// whose output only writes each response's bytes (no gRPC, no socket). Prints the time per put and per watcher.
//   node fanout-bench.mjs [ROOT]   (ROOT: a built checkout, default this one; W=1000 N=3000 from the environment)
import { fileURLToPath } from "node:url";
if (process.argv.includes("--help")) {
  console.log("usage: node fanout-bench.mjs [ROOT]   (a built checkout; env W=watchers N=puts)");
  process.exit(0);
}
const root = process.argv[2] ?? fileURLToPath(new URL("../../..", import.meta.url));
const W = Number(process.env.W ?? 1000), N = Number(process.env.N ?? 3000);
const { openTempStore, B } = await import(`${root}/dist/test/mvcc/helpers.js`);
const { WatchableStore } = await import(`${root}/dist/server/watch/index.js`);
const { WatchSession } = await import(`${root}/dist/server/etcdserver/requests/watch-session.js`);
const t = openTempStore();
const ws = new WatchableStore(t.store);
const server = { watchable: ws, header: (rev) => ({ clusterId: 1n, memberId: 2n, revision: rev ?? t.store.currentRevision(), raftTerm: 3 }) };
let bytes = 0;
const scratch = Buffer.allocUnsafe(1 << 16);
// builds before 2026-12-06 hand the session's output a Buffer; later ones an EventResponse that writes itself
const out = { write: () => {}, writeEncoded: (r) => { if (!Buffer.isBuffer(r)) r.writeTo(scratch, 0); bytes += r.length; }, writable: () => true };
const sessions = Array.from({ length: 10 }, () => new WatchSession(server, out, { maxRequestBytes: 1 << 20, progressNotifyMs: 600000 }));
for (let i = 0; i < W; i++)
  sessions[i % 10].handle({ create_request: { key: B("/p/"), range_end: B("/p0"), start_revision: 0, progress_notify: false, filters: [], prev_kv: false, watch_id: 0, fragment: false } });
await new Promise((r) => setTimeout(r, 50));
const val = Buffer.alloc(256, 1);
let ci = 0;
const run = (n) => { for (let i = 0; i < n; i++) t.store.write(++ci, (txn) => txn.put(B(`/p/${i % 100}`), val, 0n)); };
run(500); // warm-up
const t0 = process.hrtime.bigint();
run(N);
const ns = Number(process.hrtime.bigint() - t0);
console.log(`${root}: ${(ns / N / 1000).toFixed(1)} µs per put, ${(ns / N / W).toFixed(0)} ns per watcher (${W} watchers, ${N} puts, ${bytes} bytes)`);
for (const s of sessions) s.close();
ws.close();
t.destroy();
