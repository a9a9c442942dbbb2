/**
 * Live progress on stderr: on a terminal one status line redrawn in place (what runs, elapsed, ETA of the
 * step and of the whole run); otherwise plain lines (a line per step and a status line every 10 s).
 */
export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

const fmt = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
};

export class Progress {
  private readonly tty: boolean;
  private readonly t0 = Date.now();
  private totalSteps = 1;
  private stepsDone = 0;
  private stepIndex = 0;
  private label = "";
  private stepStart = Date.now();
  private fraction = 0;
  private detail = "";
  private lastPlain = 0;
  private drawn = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: ProgressSink = process.stderr,
    tty?: boolean,
    private quiet = false,
  ) {
    this.tty = tty ?? Boolean(out.isTTY);
    if (this.tty && !quiet) {
      this.timer = setInterval(() => this.draw(), 250);
      this.timer.unref();
    }
  }

  /** Stop writing at all (the terminal went away: SIGHUP). */
  silence(): void {
    this.quiet = true;
    if (this.timer) clearInterval(this.timer);
  }

  plan(totalSteps: number): void {
    this.totalSteps = Math.max(1, totalSteps);
  }

  /** Begin the next step of the plan. */
  step(label: string): void {
    this.stepIndex++;
    this.label = label;
    this.stepStart = Date.now();
    this.fraction = 0;
    this.detail = "";
    this.log(`[${this.stepIndex}/${this.totalSteps}] ${label}`);
  }

  stepDone(): void {
    this.stepsDone = Math.min(this.totalSteps, this.stepsDone + 1);
    this.fraction = 0;
  }

  /** Fraction of the current step done (0..1) and a short detail ("4500/10000 req, 12 errors"). */
  update(fraction: number, detail: string): void {
    this.fraction = Math.max(0, Math.min(1, fraction));
    this.detail = detail;
    if (!this.tty && !this.quiet && Date.now() - this.lastPlain >= 10_000) {
      this.lastPlain = Date.now();
      this.out.write(`  ${this.statusText()}\n`);
    }
  }

  statusText(): string {
    const now = Date.now();
    const stepElapsed = now - this.stepStart;
    const stepEta = this.fraction > 0.02 ? (stepElapsed / this.fraction) * (1 - this.fraction) : NaN;
    const doneUnits = this.stepsDone + this.fraction;
    const allElapsed = now - this.t0;
    const allEta = doneUnits > 0.05 ? (allElapsed / doneUnits) * (this.totalSteps - doneUnits) : NaN;
    return `[${this.stepIndex}/${this.totalSteps}] ${this.label} ${this.detail} · ${fmt(stepElapsed)} · ETA ${fmt(stepEta)} (run ${fmt(allElapsed)}, ETA ${fmt(allEta)})`;
  }

  private draw(): void {
    if (!this.label || this.quiet) return;
    const cols = (process.stderr as { columns?: number }).columns ?? 120;
    this.out.write(`\r\x1b[2K${this.statusText().slice(0, cols - 1)}`);
    this.drawn = true;
  }

  log(msg: string): void {
    if (this.quiet) return;
    if (this.tty && this.drawn) {
      this.out.write("\r\x1b[2K");
      this.drawn = false;
    }
    this.out.write(`${msg}\n`);
  }

  finish(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.tty && this.drawn) this.out.write("\r\x1b[2K");
    this.drawn = false;
  }
}
