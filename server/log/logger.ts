import pino, { type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "../config/member-config.js";
import { ConfigError } from "../config/errors.js";

export type { Logger };

/**
 * JSON logs in the shape of etcd's zap logger: {"level":"info","ts":"<ISO-8601>","caller":...,"msg":...}.
 * Written synchronously (as etcd) so lifecycle lines that scripts wait for are never lost or reordered.
 *
 * Outputs follow etcd's --log-outputs for zap: "default" and "stderr" are stderr, "stdout" is stdout, anything
 * else is a file path opened for appending (created if missing); several outputs each get every line, and
 * "/dev/null" among them silences all of them (zap's MergeOutputPaths). The config refuses "journal".
 */
export function createLogger(level: LogLevel, outputs: readonly string[] = ["default"]): Logger {
  const options = {
    level: level === "panic" ? "fatal" : level,
    base: null,
    messageKey: "msg",
    timestamp: () => `,"ts":"${new Date().toISOString()}"`,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const targets = destinationsOf(outputs);
  if (targets.length === 1) return pino(options, targets[0]!);
  const minLevel = options.level;
  return pino(options, pino.multistream(targets.map((stream) => ({ stream, level: minLevel as pino.Level }))));
}

function destinationsOf(outputs: readonly string[]): DestinationStream[] {
  const unique = [...new Set(outputs.length === 0 ? ["default"] : outputs)];
  if (unique.includes("/dev/null")) return [pino.destination({ dest: "/dev/null", sync: true })];
  return unique.map((o) => {
    if (o === "default" || o === "stderr") return pino.destination({ dest: 2, sync: true });
    if (o === "stdout") return pino.destination({ dest: 1, sync: true });
    try {
      return pino.destination({ dest: o, sync: true, append: true, mkdir: false });
    } catch (e) {
      throw new ConfigError(`--log-outputs: cannot open log file ${o}: ${(e as Error).message}`);
    }
  });
}
