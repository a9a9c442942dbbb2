import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageRoot } from "../../server/util/package-root.js";
import { Wal } from "../../server/wal/wal.js";
import { crashEntry } from "./crash-entry.js";
import { captureLog, tempDir } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const SEGMENT = 16384;

/** Runs the child until it has acknowledged a few batches, kills it with SIGKILL at a random moment, returns the acknowledged indexes. */
async function runAndKill(dir: string): Promise<number[]> {
  // From source (tsx) or compiled (dist/test/wal/*.js, as `npm test` runs it).
  const fromSource = fileURLToPath(import.meta.url).endsWith(".ts");
  const script = join(here, fromSource ? "crash-child.ts" : "crash-child.js");
  const child = spawn(process.execPath, [...(fromSource ? ["--import", "tsx"] : []), script, dir, String(SEGMENT)], {
    cwd: packageRoot(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const acked: number[] = [];
  let stderr = "";
  let buffered = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`child made no progress: ${stderr}`)), 15000);
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const l of lines) if (/^\d+$/.test(l)) acked.push(Number(l));
      if (acked.length > 0 && !timer) {
        // Kill at a random point after the first acknowledged save: mid-write, mid-sync or mid-cut.
        timer = setTimeout(() => {
          clearTimeout(guard);
          child.kill("SIGKILL");
          resolve();
        }, randomInt(30, 300));
      }
    });
    void exited.then((code) => {
      if (!timer) reject(new Error(`child exited early (${code}): ${stderr}`));
    });
  });
  await exited;
  // Lines that arrived before the pipe closed were acknowledged too.
  for (const l of buffered.split("\n")) if (/^\d+$/.test(l)) acked.push(Number(l));
  return acked;
}

test("kill -9 while appending: every index reported after a synced save() survives", { timeout: 60000 }, async (t) => {
  const { root, cleanup } = await tempDir("wal-crash-");
  t.after(cleanup);
  const dir = join(root, "wal");
  let maxAcked = 0;
  for (let round = 0; round < 3; round++) {
    const acked = await runAndKill(dir);
    assert.ok(acked.length > 0);
    maxAcked = Math.max(maxAcked, ...acked);
    const log = captureLog();
    const r = await Wal.open(dir, { index: 0, term: 0 }, log, { segmentSizeBytes: SEGMENT });
    assert.ok(r.entries.length >= maxAcked, `round ${round}: ${r.entries.length} entries, acknowledged up to ${maxAcked}`);
    for (let i = 0; i < r.entries.length; i++) {
      assert.deepEqual(r.entries[i], crashEntry(i + 1), `entry ${i + 1}`);
    }
    assert.ok(r.hardState.commit >= maxAcked);
    t.diagnostic(`round ${round}: acknowledged ${acked.length} saves up to index ${maxAcked}; reopened with ${r.entries.length} entries, ${r.wal.segmentNames().length} segments, ${log.warns.length} warnings: ${log.warns.map((w) => w.msg).join(" | ")}`);
    await r.wal.close();
  }
});
