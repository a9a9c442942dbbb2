/**
 * Time as the server's timers see it, injected so that a test can drive it (test/support's
 * ManualClock) instead of sleeping. Timers never keep the process alive.
 */
export interface Clock {
  /** Milliseconds, as Date.now(). */
  now(): number;
  /** Calls `f` every `ms` until the returned function is called. */
  every(ms: number, f: () => void): () => void;
  /** Calls `f` once after `ms`, unless the returned function is called first. */
  after(ms: number, f: () => void): () => void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  every(ms, f) {
    const t = setInterval(f, ms);
    t.unref();
    return () => clearInterval(t);
  },
  after(ms, f) {
    const t = setTimeout(f, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};
