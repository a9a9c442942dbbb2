/**
 * Child process for crash.test.ts: applies entries 1..n (entry i puts key e<i>, and every 5th
 * also deletes the previous key), yielding now and then so lmdb commits batches, and kills itself
 * with SIGKILL right after queueing entry `killAt` — no close, no flush.
 */
import { Backend, backendPath } from "../../server/backend/index.js";
import { MvccStore } from "../../server/mvcc/index.js";

const [dir, nArg, killArg] = process.argv.slice(2);
// `node --test dist/test/` runs every file under test/: without arguments, do nothing
if (dir === undefined) process.exit(0);
const n = Number(nArg);
const killAt = Number(killArg);
const backend = Backend.open(backendPath(dir));
const store = MvccStore.open(backend);
const start = store.consistentIndex() + 1;
for (let i = start; i <= n; i++) {
  store.write(i, (txn) => {
    txn.put(Buffer.from(`e${String(i).padStart(6, "0")}`), Buffer.from(String(i)), 0n);
    if (i % 5 === 0) txn.deleteRange(Buffer.from(`e${String(i - 1).padStart(6, "0")}`), Buffer.alloc(0));
  });
  if (i === killAt) process.kill(process.pid, "SIGKILL");
  if (i % 37 === 0) await new Promise((r) => setTimeout(r, 1));
}
await store.close();
await backend.close();
