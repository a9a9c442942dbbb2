/**
 * The revisions written but not yet committed to the backend (lmdb-js commits a batch per
 * event-loop turn): their events, by main revision, serve reads until the batch commits.
 * Revisions enter in order, so the pending ones are always the newest.
 */
import type { Event } from "../pb/kv.js";

export class PendingRevisions {
  private readonly byMain = new Map<number, Event[]>();
  private queue: Array<{ batch: number; main: number }> = [];
  private head = 0;

  get(main: number): Event[] | undefined {
    return this.byMain.get(main);
  }

  /** Revision `main` was queued in backend batch `batch`. */
  add(batch: number, main: number, events: Event[]): void {
    this.byMain.set(main, events);
    this.queue.push({ batch, main });
  }

  /** The oldest pending main revision (Infinity when none): every revision from it on is pending. */
  firstMain(): number {
    return this.head < this.queue.length ? this.queue[this.head]!.main : Infinity;
  }

  /** Backend batches up to `batch` have committed: their revisions are read from the backend now. */
  committed(batch: number): void {
    const q = this.queue;
    let h = this.head;
    while (h < q.length && q[h]!.batch <= batch) {
      this.byMain.delete(q[h]!.main);
      h++;
    }
    if (h === q.length) {
      this.queue = [];
      this.head = 0;
    } else if (h > 1024 && h * 2 > q.length) {
      // drop the consumed prefix now and then, not at every batch
      this.queue = q.slice(h);
      this.head = 0;
    } else {
      this.head = h;
    }
  }

  clear(): void {
    this.byMain.clear();
    this.queue = [];
    this.head = 0;
  }
}
