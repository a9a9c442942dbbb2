/**
 * Waits for this member to apply an index (etcd's applyWait): a simple token names the raft index
 * of the Authenticate that issued it, and a member that has not applied it yet waits before judging
 * the token (etcd's isValidSimpleToken).
 */
import { contextError, onAbort } from "./request-context.js";

export class AppliedWaiter {
  private readonly waiting = new Map<number, Set<() => void>>();

  constructor(private readonly applied: () => number) {}

  wait(index: number, signal?: AbortSignal): Promise<void> {
    if (index <= this.applied()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(contextError(signal));
    return new Promise<void>((resolve, reject) => {
      let set = this.waiting.get(index);
      if (!set) this.waiting.set(index, (set = new Set()));
      const s = set;
      const done = () => {
        dispose();
        resolve();
      };
      const dispose = onAbort(signal, () => {
        s.delete(done);
        reject(contextError(signal!));
      });
      s.add(done);
    });
  }

  /** The applier moved on: wake whoever waits for an index up to the applied one. */
  onApplied(): void {
    if (this.waiting.size === 0) return;
    const upTo = this.applied();
    for (const [index, set] of this.waiting) {
      if (index > upTo) continue;
      this.waiting.delete(index);
      for (const f of set) f();
    }
  }
}
