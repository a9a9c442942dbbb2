import type { Counter, LabelValues } from "prom-client";

/**
 * Increments of a counter under label sets fixed for their caller's lifetime (a gRPC method's), kept
 * in plain numbers and added to the prom-client counter when the registry is read (its collect hook
 * calls flush). prom-client's inc(labels) builds a string key from the label set on every call, and
 * a unary call counts twice (started, handled): a visible share of a read's CPU for a count that is
 * only ever looked at on a scrape. A read of the counter always sees every increment made before it.
 */
export class PendingCounts<L extends string> {
  private readonly entries: Array<{ readonly labels: LabelValues<L>; n: number }> = [];

  constructor(private readonly counter: Counter<L>) {}

  /** A function counting one under `labels`; call it once per label set, not per increment. */
  counterFor(labels: LabelValues<L>): () => void {
    const e = { labels, n: 0 };
    this.entries.push(e);
    return () => {
      e.n++;
    };
  }

  /** Adds what was counted to the counter (before every read of it). */
  flush(): void {
    for (const e of this.entries) {
      if (e.n === 0) continue;
      this.counter.inc(e.labels, e.n);
      e.n = 0;
    }
  }
}
