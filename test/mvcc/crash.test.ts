/**
 * Crash consistency: a process killed (SIGKILL) at an arbitrary point leaves a backend whose
 * consistent index covers exactly the entries whose writes it holds, so replaying the entries
 * after the consistent index neither loses nor re-applies any.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Backend, backendPath } from "../../server/backend/index.js";
import { MvccStore } from "../../server/mvcc/index.js";
import { B, FROM_KEY, tempDir } from "./helpers.js";

const here = fileURLToPath(new URL(".", import.meta.url));
// run from source (tsx) or compiled (dist/test/mvcc/*.js)
const compiled = import.meta.url.endsWith(".js");
const child = join(here, compiled ? "crash-child.js" : "crash-child.ts");
const loader = compiled ? [] : ["--import", "tsx"];
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function run(dir: string, n: number, killAt: number) {
  const r = spawnSync(process.execPath, [...loader, child, dir, String(n), String(killAt)], { encoding: "utf8", timeout: 60_000 });
  return r;
}

/** What applying entries 1..ci must have produced. */
function check(dir: string): Promise<number> {
  const backend = Backend.open(backendPath(dir));
  const store = MvccStore.open(backend);
  const ci = store.consistentIndex();
  const live = store.range(B("e"), FROM_KEY).kvs.map((kv) => Number(kv.value.toString()));
  const expected: number[] = [];
  for (let i = 1; i <= ci; i++) {
    if (i % 5 === 0) expected.pop();
    expected.push(i);
  }
  assert.deepEqual(live, expected, `consistent index ${ci}`);
  assert.equal(store.currentRevision(), ci + 1, "one revision per entry");
  return store.close().then(() => backend.close()).then(() => ci);
}

describe("crash consistency", () => {
  it("SIGKILL mid-stream, twice, then replay: every entry applied exactly once", async () => {
    const dir = tempDir("etcd-ts-crash-");
    dirs.push(dir);
    const first = run(dir, 3000, 1700);
    assert.equal(first.signal, "SIGKILL", first.stderr);
    const ci1 = await check(dir);
    assert.ok(ci1 > 0 && ci1 <= 1700, `ci ${ci1}`);
    console.log(`killed after queueing entry 1700: backend holds entries 1..${ci1}`);
    // "replay the WAL": the child resumes from the consistent index + 1
    const second = run(dir, 3000, 2600);
    assert.equal(second.signal, "SIGKILL", second.stderr);
    const ci2 = await check(dir);
    assert.ok(ci2 >= ci1 && ci2 <= 2600, `ci ${ci2}`);
    console.log(`killed after queueing entry 2600: backend holds entries 1..${ci2}`);
    const third = run(dir, 3000, -1);
    assert.equal(third.status, 0, third.stderr);
    assert.equal(await check(dir), 3000);
  });
});
