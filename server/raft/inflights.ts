/**
 * Inflights: a bounded FIFO of the last indexes of MsgApps sent to one follower in
 * replicate state and not yet acknowledged (etcd's tracker.Inflights). A full window pauses
 * replication to that follower (flow control / pipelining depth = maxInflightMsgs).
 */
export class Inflights {
  private start = 0;
  private count = 0;
  private buffer: number[] = [];
  readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  /** Record a MsgApp whose last entry index is `inflight` (must be increasing). */
  add(inflight: number): void {
    if (this.full()) throw new Error("cannot add into a full inflights");
    let next = this.start + this.count;
    if (next >= this.size) next -= this.size;
    if (next >= this.buffer.length) this.grow();
    this.buffer[next] = inflight;
    this.count++;
  }

  private grow(): void {
    let newSize = this.buffer.length * 2;
    if (newSize === 0) newSize = 1;
    else if (newSize > this.size) newSize = this.size;
    const b = new Array<number>(newSize).fill(0);
    for (let i = 0; i < this.buffer.length; i++) b[i] = this.buffer[i]!;
    this.buffer = b;
  }

  /** Free every inflight with index <= to (they were acknowledged). */
  freeLE(to: number): void {
    if (this.count === 0 || to < this.buffer[this.start]!) return;
    let idx = this.start;
    let i = 0;
    for (; i < this.count; i++) {
      if (to < this.buffer[idx]!) break;
      idx++;
      if (idx >= this.size) idx -= this.size;
    }
    this.count -= i;
    this.start = idx;
    if (this.count === 0) this.start = 0;
  }

  freeFirstOne(): void {
    if (this.count > 0) this.freeLE(this.buffer[this.start]!);
  }

  full(): boolean {
    return this.count === this.size;
  }

  length(): number {
    return this.count;
  }

  reset(): void {
    this.count = 0;
    this.start = 0;
  }
}
