import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { backendQuotaBytes, humanBytes } from "../../server/etcdserver/backend-quota.js";
import { parseConfig } from "../../server/config/parse.js";
import { ConfigError } from "../../server/config/errors.js";

function captured(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

test("go-humanize's Bytes, as etcd prints quota sizes", () => {
  assert.equal(humanBytes(2 * 1024 ** 3), "2.1 GB");
  assert.equal(humanBytes(8 * 1024 ** 3), "8.6 GB");
  assert.equal(humanBytes(10 * 1024 ** 3), "11 GB");
  assert.equal(humanBytes(1048576), "1.0 MB");
  assert.equal(humanBytes(9), "9 B");
});

test("--quota-backend-bytes: negative disables, 0 is 2 GiB, above 8 GiB warns", () => {
  const neg = captured();
  assert.equal(backendQuotaBytes(-1, neg.logger), Infinity);
  assert.deepEqual(neg.lines.map((l) => l.msg), ["disabled backend quota"]);
  const zero = captured();
  assert.equal(backendQuotaBytes(0, zero.logger), 2 * 1024 ** 3);
  assert.deepEqual(zero.lines.map((l) => l.msg), ["enabled backend quota with default value"]);
  const big = captured();
  assert.equal(backendQuotaBytes(9 * 1024 ** 3, big.logger), 9 * 1024 ** 3);
  assert.deepEqual(big.lines.map((l) => [l.level, l.msg]), [[40, "quota exceeds the maximum value"], [30, "enabled backend quota"]]);
  assert.equal(big.lines[0]!["quota-maximum-size"], "8.6 GB");
  const at = captured();
  backendQuotaBytes(8 * 1024 ** 3, at.logger);
  assert.deepEqual(at.lines.map((l) => l.msg), ["enabled backend quota"]);
});

test("the flag is Go's int64: a sign is accepted, other text is a parse error", () => {
  assert.equal(parseConfig(["--quota-backend-bytes=-1"]).config.quotaBackendBytes, -1);
  assert.equal(parseConfig(["--quota-backend-bytes=+5"]).config.quotaBackendBytes, 5);
  assert.throws(() => parseConfig(["--quota-backend-bytes=1GB"]), (e: unknown) => e instanceof ConfigError && /invalid value "1GB" for flag -quota-backend-bytes: parse error/.test(e.message));
});
