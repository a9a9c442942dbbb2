import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importedPackages } from "../../stacks/image-bundle.js";

test("the image's package scan finds real imports only, not the word `from` inside strings", () => {
  const dir = mkdtempSync(join(tmpdir(), "etcdkit-imports-"));
  try {
    const f = join(dir, "a.js");
    writeFileSync(
      f,
      [
        'import * as grpc from "@grpc/grpc-js";',
        'import { open } from "lmdb";',
        'import { readFileSync } from "node:fs";',
        'import { x } from "./local.js";',
        'const m = await import("pino");',
        'const TABLE = [["from", ""], ["host", ""]]; // an HPACK static table entry',
        "const msg = `resolved from \"${listed}\"`;",
      ].join("\n"),
    );
    assert.deepEqual(importedPackages([f]), ["@grpc/grpc-js", "lmdb", "pino"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
