import pino, { type Logger } from "pino";
import type { LogLevel } from "../config/member-config.js";

export type { Logger };

/**
 * JSON logs in the shape of etcd's zap logger: {"level":"info","ts":"<ISO-8601>","caller":...,"msg":...}.
 * Written synchronously to stderr (as etcd) so lifecycle lines that scripts wait for are never lost or reordered.
 */
export function createLogger(level: LogLevel, outputs: readonly string[] = ["default"]): Logger {
  const toStdout = outputs.includes("stdout");
  return pino(
    {
      level: level === "panic" ? "fatal" : level,
      base: null,
      messageKey: "msg",
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: toStdout ? 1 : 2, sync: true }),
  );
}
