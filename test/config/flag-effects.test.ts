/**
 * Flags that used to be accepted and then ignored: each now reaches the config with etcd's syntax, or is refused
 * with a message saying why.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../server/config/parse.js";
import { ConfigError } from "../../server/config/errors.js";
import { formatGoDuration, parseGoDuration } from "../../server/config/go-duration.js";
import { parseEnvFile, toEnvFile, toFlags } from "../../server/config/render.js";

const refused = (args: string[], re: RegExp, env: Record<string, string> = {}) =>
  assert.throws(() => parseConfig(args, env), (e: unknown) => e instanceof ConfigError && re.test(e.message), `${args.join(" ")} ${JSON.stringify(env)}`);

test("Go durations: what time.ParseDuration takes, and Duration.String() back", () => {
  const ok: Array<[string, number]> = [
    ["5s", 5_000], ["2h0m0s", 7_200_000], ["2h", 7_200_000], ["1m30s", 90_000], ["1.5h", 5_400_000], ["300ms", 300],
    ["0", 0], ["-1s", -1_000], ["+2s", 2_000], ["1h1m1.5s", 3_661_500], ["10us", 0.01], ["1\u00b5s", 0.001], [".5s", 500], ["1.s", 1_000],
  ];
  for (const [s, ms] of ok) assert.equal(parseGoDuration(s), ms, s);
  for (const bad of ["", "5", "abc", "1x", "s", ".s", "-", "1h2", "1 s", "1e3s"]) assert.equal(parseGoDuration(bad), undefined, bad);
  const printed: Array<[number, string]> = [[5_000, "5s"], [7_200_000, "2h0m0s"], [90_000, "1m30s"], [300, "300ms"], [0, "0s"], [-1_000, "-1s"], [1_500, "1.5s"], [0.001, "1\u00b5s"]];
  for (const [ms, s] of printed) assert.equal(formatGoDuration(ms), s, String(ms));
});

test("--grpc-keepalive-*: Go durations into the config; anything else is etcd's parse error", () => {
  const { config } = parseConfig(["--grpc-keepalive-min-time=1s", "--grpc-keepalive-interval=30m", "--grpc-keepalive-timeout=2.5s"]);
  assert.equal(config.grpcKeepAliveMinTimeMs, 1_000);
  assert.equal(config.grpcKeepAliveIntervalMs, 1_800_000);
  assert.equal(config.grpcKeepAliveTimeoutMs, 2_500);
  const defaults = parseConfig([]).config;
  assert.deepEqual([defaults.grpcKeepAliveMinTimeMs, defaults.grpcKeepAliveIntervalMs, defaults.grpcKeepAliveTimeoutMs], [5_000, 7_200_000, 20_000]);
  refused(["--grpc-keepalive-min-time=5"], /^invalid value "5" for flag -grpc-keepalive-min-time: parse error$/);
  refused(["--grpc-keepalive-interval=abc"], /^invalid value "abc" for flag -grpc-keepalive-interval: parse error$/);
  refused([], /^invalid value "soon" for flag -grpc-keepalive-timeout: parse error$/, { ETCD_GRPC_KEEPALIVE_TIMEOUT: "soon" });
});

test("--enable-v2: false is accepted, true is refused (etcd-ts has no v2 API)", () => {
  parseConfig(["--enable-v2=false"]);
  refused(["--enable-v2"], /^--enable-v2=true: etcd-ts serves the v3 API only/);
  refused(["--enable-v2=1"], /^--enable-v2=true: etcd-ts serves the v3 API only/);
  refused([], /^--enable-v2=true: etcd-ts serves the v3 API only/, { ETCD_ENABLE_V2: "true" });
});

test("--logger: zap is what etcd-ts logs; capnslog is refused", () => {
  parseConfig(["--logger=zap"]);
  refused(["--logger=capnslog"], /^--logger=capnslog: etcd-ts logs only in zap's JSON format/);
});

test("--log-outputs: default, stderr, stdout, files; journald and 'default' among others are refused", () => {
  assert.deepEqual(parseConfig(["--log-outputs=stderr,/tmp/etcd.log"]).config.logOutputs, ["stderr", "/tmp/etcd.log"]);
  refused(["--log-outputs=journal"], /does not write to journald/);
  refused(["--log-outputs=default,stdout"], /multi logoutput for "default" is not supported yet/);
  refused(["--log-outputs=stderr,"], /empty output/);
});

test("--metrics and --listen-metrics-urls reach the config, https metrics URLs included", () => {
  const { config } = parseConfig(["--metrics=extensive", "--listen-metrics-urls=http://127.0.0.1:2381,http://127.0.0.1:2382"]);
  assert.equal(config.metrics, "extensive");
  assert.deepEqual(config.listenMetricsUrls, ["http://127.0.0.1:2381", "http://127.0.0.1:2382"]);
  assert.deepEqual(parseConfig(["--listen-metrics-urls=https://127.0.0.1:2381"]).config.listenMetricsUrls, ["https://127.0.0.1:2381"]);
});

test("the new settings render to env files and flags and parse back unchanged", () => {
  const { config } = parseConfig([
    "--metrics=extensive",
    "--listen-metrics-urls=http://127.0.0.1:2381",
    "--grpc-keepalive-min-time=1s",
    "--grpc-keepalive-interval=1m30s",
    "--grpc-keepalive-timeout=0",
    "--log-outputs=stdout",
  ]);
  assert.deepEqual(parseConfig([], parseEnvFile(toEnvFile(config))).config, config);
  assert.deepEqual(parseConfig(toFlags(config)).config, config);
  assert.ok(toFlags(config).includes("--grpc-keepalive-interval=1m30s"));
  assert.ok(!toFlags(parseConfig([]).config).some((f) => f.startsWith("--grpc-keepalive")), "defaults are not rendered");
});

test("config file: durations are nanoseconds and log-outputs a list, as etcd decodes its YAML", () => {
  const dir = mkdtempSync(join(tmpdir(), "cfg-"));
  try {
    const ok = join(dir, "ok.yml");
    writeFileSync(ok, "name: a\ngrpc-keepalive-min-time: 2000000000\ngrpc-keepalive-interval: 60000000000\nlog-outputs: [stderr, stdout]\nmetrics: extensive\nenable-v2: false\n");
    const { config } = parseConfig([`--config-file=${ok}`]);
    assert.equal(config.grpcKeepAliveMinTimeMs, 2_000);
    assert.equal(config.grpcKeepAliveIntervalMs, 60_000);
    assert.deepEqual(config.logOutputs, ["stderr", "stdout"]);
    assert.equal(config.metrics, "extensive");
    const str = join(dir, "str.yml");
    writeFileSync(str, "name: a\ngrpc-keepalive-min-time: 5s\n");
    refused([`--config-file=${str}`], /cannot unmarshal string into Go struct field configYAML\.grpc-keepalive-min-time of type time\.Duration/);
    const v2 = join(dir, "v2.yml");
    writeFileSync(v2, "name: a\nenable-v2: true\n");
    refused([`--config-file=${v2}`], /--enable-v2=true: etcd-ts serves the v3 API only/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
