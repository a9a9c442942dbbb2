import type { Logger } from "./logger.js";

type Level = "debug" | "info" | "warn" | "error";

/**
 * A log line that a peer or client can trigger at will (an undecodable message, a connection over the
 * limit) must not let them flood the log. Per key (a peer ID, a listener address), the first line is
 * written at once; later ones within `intervalMs` are counted, and the next line written after the
 * interval carries `suppressed`: how many were dropped since the last one written.
 */
export class RateLimitedLog {
  private readonly byKey = new Map<string, { lastAt: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly level: Level = "warn",
    private readonly now: () => number = Date.now,
    /** Keys kept at most; past it the oldest entries are forgotten (each key then logs at once again). */
    private readonly maxKeys = 1024,
  ) {}

  /** Writes the line unless one with this key was written less than intervalMs ago; true when written. */
  log(key: string, fields: Record<string, unknown>, msg: string): boolean {
    const t = this.now();
    const seen = this.byKey.get(key);
    if (seen && t - seen.lastAt < this.intervalMs) {
      seen.suppressed++;
      return false;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.byKey.delete(key); // re-insert: the map's order is then oldest-written first
    this.byKey.set(key, { lastAt: t, suppressed: 0 });
    if (this.byKey.size > this.maxKeys) this.byKey.delete(this.byKey.keys().next().value!);
    this.logger[this.level](suppressed > 0 ? { ...fields, suppressed } : fields, msg);
    return true;
  }
}
