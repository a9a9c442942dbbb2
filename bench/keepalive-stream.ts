/** One lease's LeaseKeepAlive stream, as the lease-keepalive runner (bench/lease-load.ts) drives it. */
import type { ClientDuplexStream } from "@grpc/grpc-js";
import type { EtcdChannel } from "./etcd-client.js";
import { deadlineError } from "./load-counters.js";

type KeepAliveCall = ClientDuplexStream<{ ID: string }, { TTL?: string | number }>;

interface Waiter {
  resolve: (ttl: number) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

/**
 * Used closed loop: one request in flight, the next written once the answer arrived. A request unanswered
 * within the deadline cancels the stream (the next one opens a new stream, so responses can never be
 * matched to the wrong request).
 */
export class KeepAliveStream {
  private call: KeepAliveCall | undefined;
  private waiter: Waiter | undefined;
  constructor(
    private readonly ch: EtcdChannel,
    readonly id: string,
  ) {}

  private open(): KeepAliveCall {
    const call = (this.ch.lease() as unknown as { LeaseKeepAlive(): KeepAliveCall }).LeaseKeepAlive();
    // Events of a stream already replaced (reset after a deadline) must not settle the current request.
    const settle = (f: (w: Waiter) => void) => {
      if (this.call !== call) return;
      const w = this.waiter;
      this.waiter = undefined;
      if (w) {
        clearTimeout(w.timer);
        f(w);
      }
    };
    call.on("data", (res: { TTL?: string | number }) => settle((w) => w.resolve(Number(res.TTL ?? 0))));
    call.on("error", (e: unknown) => {
      settle((w) => w.reject(e));
      if (this.call === call) this.call = undefined;
    });
    call.on("end", () => {
      settle((w) => w.reject(new Error("keep-alive stream ended by the server")));
      if (this.call === call) this.call = undefined;
    });
    this.call = call;
    return call;
  }

  /** One keep-alive; resolves with the TTL the server answered (0: the lease does not exist). */
  once(timeoutMs: number): Promise<number> {
    const call = this.call ?? this.open();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        this.reset();
        reject(deadlineError("keep-alive not answered within the deadline"));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
      call.write({ ID: this.id });
    });
  }

  reset(): void {
    const c = this.call;
    this.call = undefined;
    try {
      c?.cancel();
    } catch {
      /* gone */
    }
  }

  close(): void {
    const c = this.call;
    this.call = undefined;
    try {
      c?.end();
      c?.cancel();
    } catch {
      /* gone */
    }
  }
}
