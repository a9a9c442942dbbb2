import type { CompactionMode } from "../config/member-config.js";
import { ConfigError } from "../config/errors.js";
import type { Logger } from "../log/logger.js";
import { ErrCompacted } from "../mvcc/errors.js";
import { SYSTEM_CLOCK, type Clock } from "../util/clock.js";

export interface CompactorTarget {
  currentRevision(): number;
  /** Proposes a compaction through raft (not physical). */
  compact(revision: number): Promise<void>;
}


const REVISION_MODE_INTERVAL_MS = 5 * 60 * 1000;

/**
 * etcd's auto compaction. periodic: sample the revision every period/10 and, once a full period has
 * passed, compact to the revision seen one period ago (then every min(period, 1h)). revision: every
 * 5 minutes compact to current - retention.
 */
export class AutoCompactor {
  private stopTimer: (() => void) | undefined;
  private readonly samples: number[] = [];
  private lastSuccess: number;
  private firstDone = false;

  constructor(
    private readonly mode: CompactionMode,
    private readonly retention: number,
    private readonly target: CompactorTarget,
    private readonly logger: Logger,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.lastSuccess = clock.now();
  }

  /** `--auto-compaction-retention` as etcd reads it: periodic takes a duration (bare numbers are hours), revision a count. 0 disables. */
  static parseRetention(mode: CompactionMode, raw: string): number {
    if (mode === "revision") {
      if (!/^\d+$/.test(raw)) throw new ConfigError(`invalid auto-compaction-retention "${raw}" for revision mode (want a revision count)`);
      return Number(raw);
    }
    if (/^\d+$/.test(raw)) return Number(raw) * 3600_000;
    const ms = parseGoDuration(raw);
    if (ms === undefined) throw new ConfigError(`invalid auto-compaction-retention "${raw}" (want a duration like 1h, 30m, or hours as a number)`);
    return ms;
  }

  start(): void {
    if (this.retention <= 0) return;
    if (this.mode === "revision") {
      this.stopTimer = this.clock.every(REVISION_MODE_INTERVAL_MS, () => void this.compactTo(this.target.currentRevision() - this.retention));
    } else {
      const sampleEvery = Math.max(1, Math.floor(this.retention / 10));
      this.samples.push(this.target.currentRevision());
      this.stopTimer = this.clock.every(sampleEvery, () => this.periodicTick());
    }
    this.logger.info({ mode: this.mode, retention: this.retention }, "started auto compactor");
  }

  stop(): void {
    this.stopTimer?.();
  }

  private periodicTick(): void {
    this.samples.push(this.target.currentRevision());
    if (this.samples.length > 11) this.samples.shift(); // samples[0] is the revision one period ago
    const interval = this.firstDone ? Math.min(this.retention, 3600_000) : this.retention;
    if (this.clock.now() - this.lastSuccess < interval) return;
    void this.compactTo(this.samples[0]!).then((ok) => {
      if (ok) {
        this.firstDone = true;
        this.lastSuccess = this.clock.now();
      }
    });
  }

  private async compactTo(rev: number): Promise<boolean> {
    if (rev <= 1) return false;
    this.logger.info({ revision: rev, mode: this.mode }, "starting auto compaction");
    try {
      await this.target.compact(rev);
      this.logger.info({ revision: rev }, "completed auto compaction");
      return true;
    } catch (e) {
      if (e === ErrCompacted) return true;
      this.logger.warn({ revision: rev, error: (e as Error).message }, "failed auto compaction");
      return false;
    }
  }
}

/** Go's time.ParseDuration for h, m, s, ms units (e.g. "1h30m", "90s"). */
export function parseGoDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;
  const units: Record<string, number> = { h: 3600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * units[m[2]!]!;
    consumed += m[0].length;
  }
  return consumed === s.length && s.length > 0 ? total : undefined;
}
