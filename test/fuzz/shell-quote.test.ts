/**
 * The deploy scripts' one quoting helper against the real shell: for any values (any Unicode, any
 * shell metacharacter, newlines, leading '-'), a command line built with the `sh` tag gives
 * /bin/sh exactly those values as separate words, and nothing is ever evaluated.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { raw, sh, shq } from "../../ansible-free-scripts/common/shell.js";
import { fuzzParams } from "./settings.js";

const META = ["'", '"', "`", "$", "(", ")", ";", "|", "&", "<", ">", "*", "?", "[", "]", "{", "}", "~", "\\", "\n", " ", "\t", "-", "#", "!", "=", "%", "touch canary"];
const word = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.array(fc.constantFrom(...META), { maxLength: 12 }).map((a) => a.join("")),
  fc.string({ unit: fc.constantFrom(...META, "a", "é", "\u2028"), maxLength: 30 }),
).filter((s) => !s.includes("\0"));

test("sh`...` hands /bin/sh exactly the interpolated values, one word each, evaluating nothing", () => {
  const dir = mkdtempSync(join(tmpdir(), "etcdkit-shq-fuzz-"));
  try {
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 8 }), (values) => {
        const line = sh`printf '%s\\0' ${raw(values.map((v) => shq(v)).join(" "))}`;
        const r = spawnSync("sh", ["-c", line], { cwd: dir, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.stdout.split("\0").slice(0, -1), values);
        assert.equal(existsSync(join(dir, "canary")), false);
      }),
      fuzzParams(),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
