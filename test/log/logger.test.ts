import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../server/log/logger.js";
import { ConfigError } from "../../server/config/errors.js";

test("--log-outputs with file paths: every output gets every line, appended", () => {
  const dir = mkdtempSync(join(tmpdir(), "log-"));
  try {
    const [a, b] = [join(dir, "a.log"), join(dir, "b.log")];
    createLogger("info", [a, b]).info({ k: 1 }, "first");
    const l = createLogger("debug", [a]);
    l.debug("second");
    l.info("third");
    const linesOf = (f: string) => readFileSync(f, "utf8").trim().split("\n").map((s) => JSON.parse(s) as Record<string, unknown>);
    assert.deepEqual(linesOf(a).map((x) => x.msg), ["first", "second", "third"]);
    assert.deepEqual(linesOf(b).map((x) => x.msg), ["first"]);
    const first = linesOf(a)[0]!;
    assert.equal(first.level, "info");
    assert.equal(first.k, 1);
    assert.match(String(first.ts), /^\d{4}-\d\d-\d\dT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("/dev/null among the outputs silences them all (zap's MergeOutputPaths)", () => {
  const dir = mkdtempSync(join(tmpdir(), "log-"));
  try {
    const a = join(dir, "a.log");
    createLogger("info", [a, "/dev/null"]).info("nothing");
    assert.equal(existsSync(a) ? readFileSync(a, "utf8") : "", "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a log file that cannot be opened is a configuration error naming it", () => {
  assert.throws(() => createLogger("info", ["/nonexistent-dir/etcd.log"]), (e: unknown) => e instanceof ConfigError && /cannot open log file \/nonexistent-dir\/etcd\.log/.test(e.message));
});
