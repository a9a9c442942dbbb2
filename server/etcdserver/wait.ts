/** Proposals in flight on this member, by request id: resolved when their entry is applied. */
export class WaitRegistry<T> {
  private readonly waiting = new Map<bigint, { resolve: (v: T) => void; reject: (e: Error) => void }>();

  register(id: bigint): Promise<T> {
    return new Promise<T>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
  }

  has(id: bigint): boolean {
    return this.waiting.has(id);
  }

  trigger(id: bigint, v: T): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    w.resolve(v);
  }

  fail(id: bigint, e: Error): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    w.reject(e);
  }

  failAll(e: Error): void {
    for (const id of [...this.waiting.keys()]) this.fail(id, e);
  }

  get size(): number {
    return this.waiting.size;
  }
}
