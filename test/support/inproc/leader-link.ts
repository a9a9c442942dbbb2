/**
 * A follower's link to the leader's lessor (etcdserver/requests/leader-link.ts's LeaseLeaderLink) for
 * in-process members: a keep-alive or time-to-live is handed to the lease service of the member whose
 * client URL it was sent to, as the leader's gRPC LeaseKeepAlive / LeaseTimeToLive would hand it, on
 * a later event-loop turn; its answer comes back the same way, errors as the wire carries them
 * (etcd's code and text, requests/api-errors.ts). It follows the FakeNetwork's cuts: a request or an
 * answer across a cut link, or to a member that is stopped or paused, is never answered, and the
 * sender's timeout (on its own clock) ends the call as LeaderLink's does.
 */
import type { LeaseService } from "../../../server/etcdserver/requests/lease.js";
import type { LeaseLeaderLink, WireLeaseTimeToLiveResponse } from "../../../server/etcdserver/requests/leader-link.js";
import { toApiError } from "../../../server/etcdserver/requests/api-errors.js";
import { requestContext } from "../../../server/etcdserver/requests/context.js";
import { withTimeout } from "../../../server/etcdserver/request-context.js";
import { EtcdError, ErrTimeout, GrpcCode } from "../../../server/pb/errors.js";
import { toSafe } from "../../../server/pb/convert.js";
import type { Clock } from "../../../server/util/clock.js";
import type { FakeNetwork } from "./network.js";

/** The member a link's client URL leads to, as far as the link needs it. */
export interface LinkEnd {
  readonly id: bigint;
  /** Running and not paused: it answers. */
  answers(): boolean;
  readonly leases: LeaseService;
  readonly clock: Clock;
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

export class InprocLeaderLink implements LeaseLeaderLink {
  /** Requests sent over this link so far (a test can check that a follower forwarded). */
  sent = 0;
  private closed = false;
  /** Calls not answered yet: close() ends them as cancelling the gRPC client does. */
  private readonly pending = new Set<(e: Error) => void>();

  constructor(
    readonly clientUrl: string,
    private readonly from: bigint,
    private readonly net: FakeNetwork,
    /** The sender's clock: what its timeouts run on. */
    private readonly clock: Clock,
    private readonly endAt: (clientUrl: string) => LinkEnd | undefined,
  ) {}

  renew(id: bigint, timeoutMs: number): Promise<number> {
    return this.call(timeoutMs, () => ErrTimeout, async (end) => toSafe((await end.leases.keepAlive(requestContext(), { ID: id.toString() })).TTL));
  }

  timeToLive(id: bigint, keys: boolean, deadlineMs: number, token?: string): Promise<WireLeaseTimeToLiveResponse> {
    return this.call(
      deadlineMs,
      () => new EtcdError(GrpcCode.DeadlineExceeded, "Deadline exceeded"),
      async (end) => {
        // the leader's side of a unary call: its context ends at the deadline the call carried
        const ctx = withTimeout(undefined, deadlineMs, end.clock);
        try {
          return await end.leases.timeToLive(requestContext(ctx.signal, { token }), { ID: id.toString(), keys });
        } finally {
          ctx.done();
        }
      },
    );
  }

  close(): void {
    this.closed = true;
    for (const end of [...this.pending]) end(new EtcdError(GrpcCode.Cancelled, "Cancelled on client"));
  }

  /** The request reaches the member at clientUrl (if it can) and its answer comes back (if it can), else `timeout()` after `ms`. */
  private call<T>(ms: number, timeout: () => Error, serve: (end: LinkEnd) => Promise<T>): Promise<T> {
    this.sent++;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const cancel = this.clock.after(ms, () => finish(() => reject(timeout())));
      const cancelled = (e: Error) => finish(() => reject(e));
      this.pending.add(cancelled);
      const finish = (f: () => void) => {
        if (done) return;
        done = true;
        cancel();
        this.pending.delete(cancelled);
        f();
      };
      void (async () => {
        await nextTurn();
        const end = this.endAt(this.clientUrl);
        if (this.closed || !end || !this.reaches(this.from, end.id) || !end.answers()) return; // lost: the timeout answers
        let answer: () => void;
        try {
          const v = await serve(end);
          answer = () => resolve(v);
        } catch (e) {
          const api = toApiError(e);
          answer = () => reject(new EtcdError(api.code, api.message));
        }
        await nextTurn();
        if (this.closed || !this.reaches(end.id, this.from)) return;
        finish(answer);
      })();
    });
  }

  private reaches(from: bigint, to: bigint): boolean {
    return !this.net.isCut(from, to);
  }
}
