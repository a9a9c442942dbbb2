import type { Logger } from "../log/logger.js";

/**
 * Warnings about what peers send (a sender that is not a member, a message that is refused) at most
 * once per interval for each kind and sender: a peer that floods us must not flood the log. The next
 * warning says how many were suppressed in between.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const seen = this.last.get(key);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    if (this.last.size > 1024) this.last.clear(); // keys come from peers: keep the map bounded
    this.last.set(key, { at: t, suppressed: 0 });
    this.logger.warn(seen?.suppressed ? { ...fields, suppressed: seen.suppressed } : fields, msg);
  }
}
