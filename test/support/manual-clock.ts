import type { Clock } from "../../server/util/clock.js";

interface Timer {
  readonly f: () => void;
  /** 0: once */
  readonly every: number;
  next: number;
  cancelled: boolean;
}

/**
 * A Clock that moves only when the test says so: `advance(ms)` runs every timer that falls due, in
 * time order, letting promises settle after each. No test waits on the wall clock with it.
 */
export class ManualClock implements Clock {
  private nowMs: number;
  private timers: Timer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  every(ms: number, f: () => void): () => void {
    return this.add({ f, every: Math.max(1, ms), next: this.nowMs + Math.max(1, ms), cancelled: false });
  }

  after(ms: number, f: () => void): () => void {
    return this.add({ f, every: 0, next: this.nowMs + Math.max(0, ms), cancelled: false });
  }

  /** Moves time forward by `ms`, firing what falls due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    for (;;) {
      const t = this.timers.filter((x) => !x.cancelled && x.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!t) break;
      this.nowMs = t.next;
      if (t.every > 0) t.next += t.every;
      else t.cancelled = true;
      t.f();
      await settle();
    }
    this.timers = this.timers.filter((x) => !x.cancelled);
    this.nowMs = end;
  }

  /**
   * Moves time forward by `ms` as a process stopped that long (SIGSTOP) sees it on SIGCONT: every
   * timer that fell due fires once, an interval then runs on from now (as Node's timers do), not
   * once for each period missed.
   */
  async jump(ms: number): Promise<void> {
    this.nowMs += ms;
    const due = this.timers.filter((x) => !x.cancelled && x.next <= this.nowMs).sort((a, b) => a.next - b.next);
    for (const t of due) {
      if (t.cancelled) continue;
      if (t.every > 0) t.next = this.nowMs + t.every;
      else t.cancelled = true;
      t.f();
      await settle();
    }
    this.timers = this.timers.filter((x) => !x.cancelled);
  }

  private add(t: Timer): () => void {
    this.timers.push(t);
    return () => {
      t.cancelled = true;
    };
  }
}

/** Lets queued promise callbacks and immediates run (one turn of the event loop). */
export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
