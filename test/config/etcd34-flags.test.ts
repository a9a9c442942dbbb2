/** The flags added to match etcd 3.4's list: what each puts in the config, or why it is refused / has no effect. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../server/config/parse.js";
import { ConfigError } from "../../server/config/errors.js";
import { parseEnvFile, toEnvFile, toFlags } from "../../server/config/render.js";

const refused = (args: string[], re: RegExp) =>
  assert.throws(() => parseConfig(args), (e: unknown) => e instanceof ConfigError && re.test(e.message), args.join(" "));

test("defaults are etcd 3.4's", () => {
  const c = parseConfig([]).config;
  assert.equal(c.maxConcurrentStreams, 4294967295);
  assert.equal(c.initialElectionTickAdvance, true);
  assert.deepEqual([c.cors, c.hostWhitelist], [["*"], ["*"]]);
  assert.equal(c.authTokenTtlSeconds, 300);
  assert.equal(c.experimentalCompactionBatchLimit, 1000);
  assert.equal(c.experimentalWatchProgressNotifyIntervalMs, 600_000);
  assert.equal(c.experimentalWarningApplyDurationMs, 100);
});

test("flags, ETCD_ variables and config-file keys reach the config", () => {
  const args = [
    "--max-concurrent-streams=7",
    "--initial-election-tick-advance=false",
    "--cors=http://b.example:80,http://a.example:8080",
    "--host-whitelist=b.example,a.example,a.example",
    "--auth-token-ttl=60",
    "--experimental-compaction-batch-limit=10",
    "--experimental-watch-progress-notify-interval=2s",
    "--experimental-warning-apply-duration=1ms",
  ];
  const c = parseConfig(args).config;
  assert.equal(c.maxConcurrentStreams, 7);
  assert.equal(c.initialElectionTickAdvance, false);
  assert.deepEqual(c.cors, ["http://a.example:8080", "http://b.example:80"]);
  assert.deepEqual(c.hostWhitelist, ["a.example", "b.example"]);
  assert.equal(c.authTokenTtlSeconds, 60);
  assert.equal(c.experimentalCompactionBatchLimit, 10);
  assert.equal(c.experimentalWatchProgressNotifyIntervalMs, 2000);
  assert.equal(c.experimentalWarningApplyDurationMs, 1);
  assert.deepEqual(parseConfig([], { ETCD_MAX_CONCURRENT_STREAMS: "9", ETCD_HOST_WHITELIST: "x" }).config.maxConcurrentStreams, 9);
  // rendered to env files and flags, they parse back unchanged
  assert.deepEqual(parseConfig([], parseEnvFile(toEnvFile(c))).config, c);
  assert.deepEqual(parseConfig(toFlags(c)).config, c);
  assert.equal(parseConfig(["--experimental-compaction-batch-limit=0"]).config.experimentalCompactionBatchLimit, 1000, "0 is etcd's default batch");

  const dir = mkdtempSync(join(tmpdir(), "cfg34-"));
  try {
    const file = join(dir, "etcd.yml");
    writeFileSync(file, ["max-concurrent-streams: 5", "cors: '*'", "host-whitelist: a.example", "experimental-watch-progress-notify-interval: 3000000000", "debug: true", "enable-pprof: true"].join("\n"));
    const r = parseConfig([`--config-file=${file}`]);
    assert.equal(r.config.maxConcurrentStreams, 5);
    assert.deepEqual(r.config.hostWhitelist, ["a.example"]);
    assert.equal(r.config.experimentalWatchProgressNotifyIntervalMs, 3000);
    assert.equal(r.config.logLevel, "debug");
    assert.deepEqual(r.noEffect.map((n) => n.flag), ["enable-pprof"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--debug selects the debug level, with etcd's deprecation warnings", () => {
  const r = parseConfig(["--debug", "--log-level=warn"]);
  assert.equal(r.config.logLevel, "debug");
  assert.ok(r.warnings.some((w) => w.startsWith("Deprecated '--debug' flag is set to true (use '--log-level=debug' instead")));
  assert.ok(r.warnings.some((w) => w.includes("inconsistent '--log-level=warn' flag")));
  assert.equal(parseConfig(["--debug=false"]).config.logLevel, "info");
});

test("Go-only flags are accepted and named with their reason when set; left at the default, they are not", () => {
  const r = parseConfig([
    "--enable-pprof",
    "--experimental-backend-bbolt-freelist-type=map",
    "--backend-batch-interval=10ms",
    "--backend-batch-limit=100",
    "--proxy-dial-timeout=5",
    "--log-package-levels=etcdserver=DEBUG",
  ]);
  assert.deepEqual(r.noEffect.map((n) => n.flag).sort(), ["enable-pprof", "experimental-backend-bbolt-freelist-type", "log-package-levels", "proxy-dial-timeout"]);
  assert.ok(r.noEffect.every((n) => n.reason.length > 20));
  assert.deepEqual(parseConfig(["--enable-pprof=false", "--experimental-backend-bbolt-freelist-type=array"]).noEffect, []);
});

test("--backend-batch-interval and --backend-batch-limit set the backend's batches; 0 stands for etcd's 100 ms and 10,000", () => {
  const set = parseConfig(["--backend-batch-interval=10ms", "--backend-batch-limit=100"]).config;
  assert.equal(set.backendBatchIntervalMs, 10);
  assert.equal(set.backendBatchLimit, 100);
  const dflt = parseConfig([]).config;
  assert.equal(dflt.backendBatchIntervalMs, 100);
  assert.equal(dflt.backendBatchLimit, 10_000);
});

test("values etcd-ts cannot honour are refused with the reason, malformed ones with etcd's parse errors", () => {
  refused(["--proxy=on"], /^--proxy=on: etcd-ts has no v2 proxy/);
  refused(["--experimental-enable-v2v3=/v2"], /no v2 emulation/);
  refused(["--max-concurrent-streams=4294967296"], /value out of range/);
  refused(["--cors=example.com"], /URL scheme must be http, https, unix, or unixs/);
  refused(["--cors=http://example.com"], /does not have the form "host:port"/);
  refused(["--log-package-levels=etcdserver"], /bad log level format/);
  refused(["--log-package-levels=etcdserver=LOUD"], /couldn't parse log level LOUD/);
  refused(["--discovery-fallback=retry"], /valid values are exit, proxy/);
  parseConfig(["--proxy=off", "--experimental-enable-lease-checkpoint=false", "--cors=https://a.example:443"]);
  assert.equal(parseConfig(["--experimental-enable-lease-checkpoint"]).config.experimentalEnableLeaseCheckpoint, true);
});

test("--discovery, --discovery-proxy and --discovery-fallback are taken as given; discovery and --initial-cluster exclude each other", () => {
  const c = parseConfig(["--discovery=http://127.0.0.1:2379/v2/keys/discovery/t", "--discovery-proxy=127.0.0.1:3128", "--discovery-fallback=exit"]);
  assert.equal(c.config.discovery, "http://127.0.0.1:2379/v2/keys/discovery/t");
  assert.equal(c.config.discoveryProxy, "127.0.0.1:3128");
  assert.equal(c.config.discoveryFallback, "exit");
  // etcd: with discovery, the initial cluster is what the service gathers (none given)
  assert.deepEqual(c.config.initialCluster, []);
  assert.deepEqual(c.noEffect, []);
  refused(["--discovery=http://127.0.0.1:2379/v2/keys/discovery/t", "--initial-cluster=a=http://127.0.0.1:2380"], /multiple discovery or bootstrap flags are set/);
});
