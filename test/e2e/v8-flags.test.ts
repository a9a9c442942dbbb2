import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";
import { DEFAULT_V8_FLAGS, v8FlagsFor } from "../../server/v8-flags.js";
import { startMember } from "../support/launcher.js";

test("V8 flags: a lower interrupt budget by default (no memory flag: they cost CPU per put), ETCDTS_V8_FLAGS replaces it, empty applies none", () => {
  assert.equal(DEFAULT_V8_FLAGS, "--interrupt-budget=4096");
  assert.deepEqual(v8FlagsFor({}), { flags: ["--interrupt-budget=4096"] });
  assert.deepEqual(v8FlagsFor({ ETCDTS_V8_FLAGS: "--heap-growing-percent=20" }), { flags: ["--heap-growing-percent=20"] });
  assert.deepEqual(v8FlagsFor({ ETCDTS_V8_FLAGS: "" }), { flags: [] });
  assert.deepEqual(v8FlagsFor({ ETCDTS_V8_FLAGS: "  " }), { flags: [] });
  assert.deepEqual(v8FlagsFor({ ETCDTS_V8_FLAGS: " --optimize-for-size  --heap-growing-percent=20 " }), { flags: ["--optimize-for-size", "--heap-growing-percent=20"] });
});

test("V8 flags: heap sizes (fixed when node starts) and non-flags are refused, not silently ignored", () => {
  for (const f of ["--max-old-space-size=128", "--max-semi-space-size=4", "--max_old_space_size=128", "--min-semi-space-size=1", "--initial-old-space-size=64", "--max-heap-size=256", "--initial-heap-size=64", "--max-young-generation-size=8"]) {
    const c = v8FlagsFor({ ETCDTS_V8_FLAGS: `--optimize-for-size ${f}` });
    assert.ok("error" in c && c.error.includes(f) && c.error.includes("NODE_OPTIONS"), `${f}: ${JSON.stringify(c)}`);
  }
  const c = v8FlagsFor({ ETCDTS_V8_FLAGS: "optimize-for-size" });
  assert.ok("error" in c && /not a V8 flag/.test(c.error));
});

/**
 * Calls of a small function before V8 has optimized it, in a node that applied the flags as the server does (after
 * start, with setFlagsFromString). Synchronous recompilation makes the count exact.
 */
function callsBeforeOptimized(env: NodeJS.ProcessEnv): number {
  const script = `
    const { applyV8Flags } = await import(${JSON.stringify(join(packageRoot(), "dist", "server", "v8-flags.js"))});
    applyV8Flags(process.env);
    function f(a, b) { const o = { a, b, c: a + b }; return o.a * 2 + o.b * 3 + (a > b ? a - b : b - a) + ((a * 31) ^ b) + Math.max(a, b); }
    let n = 0;
    for (; n < 100000; n++) { f(n, n + 1); if (eval("%GetOptimizationStatus(f)") & 16) break; }
    process.stdout.write(String(n));`;
  const r = spawnSync(process.execPath, ["--allow-natives-syntax", "--no-concurrent-recompilation", "--input-type=module", "-e", script], { encoding: "utf8", env, timeout: 20000 });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout);
}

test("the default interrupt budget takes effect when applied after node started: a function is optimized after far fewer calls", () => {
  const { ETCDTS_V8_FLAGS: _ignored, ...inherited } = process.env;
  const withDefault = callsBeforeOptimized(inherited);
  const without = callsBeforeOptimized({ ...inherited, ETCDTS_V8_FLAGS: "" });
  assert.ok(without > 1000, `V8's own budget: optimized after ${without} calls`);
  assert.ok(withDefault * 5 < without, `the default budget: optimized after ${withDefault} calls, against ${without} without it`);
});

test("the server stops with exit 2 and the reason when ETCDTS_V8_FLAGS holds a heap size", () => {
  const r = spawnSync(process.execPath, [join(packageRoot(), "bin", "etcd-ts.js"), "--version"], {
    encoding: "utf8",
    env: { ...process.env, ETCDTS_V8_FLAGS: "--max-old-space-size=64" },
    timeout: 20000,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /ETCDTS_V8_FLAGS: --max-old-space-size=64 sizes the heap, which is fixed when node starts: give it on node's command line or in NODE_OPTIONS/);
  assert.equal(r.stdout, "");
});

test("a member logs the V8 flags it runs with: the default (unless the test's environment sets them), the chosen ones, or none", async () => {
  const inherited = process.env.ETCDTS_V8_FLAGS?.trim().split(/\s+/).join(" ") ?? DEFAULT_V8_FLAGS;
  const cases: [Record<string, string>, string][] = [[{}, inherited], [{ ETCDTS_V8_FLAGS: "--optimize-for-size" }, "--optimize-for-size"], [{ ETCDTS_V8_FLAGS: "" }, ""]];
  for (const [env, want] of cases) {
    const m = await startMember("etcd-ts", { env });
    try {
      const start = m.log().split("\n").find((l) => l.includes('"starting etcd-ts"'));
      assert.ok(start, "the start-up line is logged");
      assert.equal((JSON.parse(start) as Record<string, unknown>)["v8-flags"], want);
    } finally {
      await m.dispose();
    }
  }
});
