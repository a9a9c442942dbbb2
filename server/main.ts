import { execFile } from "node:child_process";
import { parseConfig } from "./config/parse.js";
import { ConfigError } from "./config/errors.js";
import { usageText } from "./config/help.js";
import { createLogger } from "./log/logger.js";
import { startEtcd } from "./embed/etcd.js";
import { DiscoveryError, logDiscoveryFailure } from "./discovery/discovery-error.js";
import { snapshotCommand } from "./ctl/snapshot-command.js";
import { API_VERSION } from "./etcdserver/server.js";
import { ETCD_TS_VERSION } from "./version.js";
import { applyV8Flags } from "./v8-flags.js";

/** flags -> config -> start; nothing else. */
async function main(): Promise<number> {
  const v8Flags = applyV8Flags(process.env);
  if ("error" in v8Flags) {
    process.stderr.write(`${v8Flags.error}\n`);
    return 2;
  }
  if (process.argv[2] === "snapshot") {
    return snapshotCommand(process.argv.slice(3), { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) });
  }
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n${e.showUsage ? usageText() : ""}`);
    return 2;
  }
  if (parsed.action === "help") {
    process.stdout.write(usageText());
    return 0;
  }
  if (parsed.action === "version") {
    process.stdout.write(`etcd-ts Version: ${ETCD_TS_VERSION}\netcd API Version: ${API_VERSION.split(".").slice(0, 2).join(".")}\nNode Version: ${process.version}\nOS/Arch: ${process.platform}/${process.arch}\n`);
    return 0;
  }
  const cfg = parsed.config;
  let logger: ReturnType<typeof createLogger>;
  try {
    logger = createLogger(cfg.logLevel, cfg.logOutputs);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 1;
  }
  for (const e of parsed.envUsed) logger.info({ variable: e }, "recognized and used environment variable");
  for (const w of parsed.warnings) logger.warn(w);
  for (const n of parsed.noEffect) logger.warn({ flag: `--${n.flag}`, value: n.value, reason: n.reason }, "flag has no effect on etcd-ts");
  logger.info({ "etcd-ts-version": ETCD_TS_VERSION, "etcd-api-version": API_VERSION, "node-version": process.version, "v8-flags": v8Flags.flags.join(" ") }, "starting etcd-ts");

  let etcd: Awaited<ReturnType<typeof startEtcd>>;
  let closing = false;
  const stopAndExit = (code: number) => {
    if (closing) return;
    closing = true;
    etcd.close().then(
      () => {
        logger.info({ name: cfg.name }, "stopped etcd server");
        process.exit(code);
      },
      (err: unknown) => {
        logger.error({ error: String(err) }, "error while shutting down");
        process.exit(1);
      },
    );
  };
  try {
    etcd = await startEtcd(cfg, logger, () => stopAndExit(0));
  } catch (e) {
    if (e instanceof DiscoveryError) {
      logDiscoveryFailure(e, { name: cfg.name, dataDir: cfg.dataDir, discoveryUrl: cfg.discovery, fallback: cfg.discoveryFallback }, logger);
      return 1;
    }
    logger.fatal({ error: e instanceof Error ? e.message : String(e) }, e instanceof ConfigError ? "invalid configuration" : "failed to start etcd");
    return 1;
  }
  if (process.env.NOTIFY_SOCKET) notifySystemd(logger);

  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "received signal; shutting down");
    stopAndExit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  return -1; // keep running
}

/** sd_notify(READY=1): Node has no unix datagram sockets, so use systemd's helper (the unit sets NotifyAccess=all). */
function notifySystemd(logger: ReturnType<typeof createLogger>): void {
  execFile("systemd-notify", ["--ready", `--pid=${process.pid}`], (err) => {
    if (err) logger.warn({ error: err.message }, "failed to notify systemd for readiness");
    else logger.info("notified init daemon");
  });
}

const code = await main();
if (code >= 0) process.exit(code);
