import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";
import { DEFAULT_V8_FLAGS, v8FlagsFor } from "../../server/v8-flags.js";
import { startMember } from "../support/launcher.js";

test("V8 flags: none by default (the memory flags cost CPU per put), ETCDTS_V8_FLAGS chooses them, empty applies none", () => {
  assert.equal(DEFAULT_V8_FLAGS, "");
  assert.deepEqual(v8FlagsFor({}), { flags: [] });
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
