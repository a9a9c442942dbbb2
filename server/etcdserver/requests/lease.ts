/**
 * The Lease service, as etcd's EtcdServer.LeaseGrant / LeaseRevoke / LeaseRenew / LeaseTimeToLive /
 * LeaseLeases with their forwarding to the leader.
 */
import type { EtcdServer } from "../server.js";
import { ErrLeaseNotFound, NotPrimaryError } from "../../lease/errors.js";
import { EtcdError, ErrCanceled, ErrNoLeader, ErrTimeout, GrpcCode } from "../../pb/errors.js";
import { isDeadlineExceeded, untilAborted } from "../request-context.js";
import { headerToWire, toBigInt, toSafe } from "../../pb/convert.js";
import type { WireLeaseGrantRequest, WireLeaseRevokeRequest } from "../../pb/raft-entry.js";
import type { Int64 } from "../../pb/wire.js";
import type { RequestContext } from "./context.js";
import type { Headed } from "./kv.js";
import { LeaderLink, type LeaseLeaderLink, type WireLeaseTimeToLiveResponse } from "./leader-link.js";
import type { Access } from "./access.js";
import { PermType } from "../../auth/range-perms.js";
import { SYSTEM_CLOCK, type Clock } from "../../util/clock.js";

export type { LeaseLeaderLink, WireLeaseTimeToLiveResponse } from "./leader-link.js";

/** Pause between two attempts to reach the leader. */
const RETRY_MS = 50;

/** How a follower reaches the leader, and the clock its retries and timeouts run on. */
export interface LeaseForwarding {
  /** The member's clock (ServerEnvironment.clock): the request timeout and the pause between retries. Default: the system clock. */
  readonly clock?: Clock;
  /** The link to the leader at its client URL. Default: gRPC (LeaderLink). */
  readonly linkTo?: (clientUrl: string, clock: Clock) => LeaseLeaderLink;
}

/** Errors from a forwarded request worth retrying (the leader went away, changed, or timed out). */
const TRANSIENT = new Set([GrpcCode.Unavailable, GrpcCode.DeadlineExceeded, GrpcCode.Cancelled, GrpcCode.Unknown, GrpcCode.FailedPrecondition]);

export interface LeaseService {
  grant(ctx: RequestContext, r: WireLeaseGrantRequest): Promise<Headed & { ID: string; TTL: number; error: string }>;
  revoke(ctx: RequestContext, r: WireLeaseRevokeRequest): Promise<Headed>;
  timeToLive(ctx: RequestContext, r: { ID: Int64; keys: boolean }): Promise<WireLeaseTimeToLiveResponse>;
  leases(ctx: RequestContext): Promise<Headed & { leases: { ID: string }[] }>;
  /** One keep-alive of a LeaseKeepAlive stream: the TTL, or 0 for a lease that does not exist (etcd). */
  keepAlive(ctx: RequestContext, r: { ID: Int64 }): Promise<Headed & { ID: string; TTL: number }>;
}

/**
 * The Lease service (etcd's EtcdServer.Lease* with its forwarding): grant and revoke go through
 * raft; keep-alive and time-to-live are answered by the leader's lessor, so a follower forwards
 * them to the leader (LeaderLink), retrying until the request timeout.
 */
export class LeaseRequests implements LeaseService {
  private link: LeaseLeaderLink | undefined;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly linkTo: (clientUrl: string, clock: Clock) => LeaseLeaderLink;

  constructor(
    private readonly server: EtcdServer,
    /** How long a forwarded request keeps trying (etcd: the request timeout, 5 s + 2 election timeouts). */
    requestTimeoutMs = 7000,
    private readonly access?: Access,
    forwarding: LeaseForwarding = {},
  ) {
    this.timeoutMs = requestTimeoutMs;
    this.clock = forwarding.clock ?? SYSTEM_CLOCK;
    this.linkTo = forwarding.linkTo ?? ((url, clock) => new LeaderLink(url, clock));
  }

  async grant(ctx: RequestContext, r: WireLeaseGrantRequest) {
    const res = await this.server.leases.grant(toSafe(r.TTL), toBigInt(r.ID), ctx.signal);
    return { header: headerToWire(this.server.header(res.revision)), ID: res.id.toString(), TTL: res.ttl, error: "" };
  }

  async revoke(ctx: RequestContext, r: WireLeaseRevokeRequest) {
    const id = toBigInt(r.ID);
    // etcd's checkLeasePuts: revoking deletes the lease's keys, so each must be writable
    const ai = await this.access?.check(ctx, (a) => this.access!.leaseKeys(a, this.server.leases.lessor.lookup(id)?.keys() ?? [], PermType.Write));
    const res = await this.server.leases.revoke(id, ctx.signal, this.access?.stampOf(ai));
    return { header: headerToWire(this.server.header(res.revision)) };
  }

  async timeToLive(ctx: RequestContext, r: { ID: Int64; keys: boolean }) {
    const res = await this.timeToLiveOf(ctx, r);
    // etcd 3.5: the keys are shown only to a caller that may read each of them
    if (this.access && r.keys) await this.access.check(ctx, (a) => this.access!.leaseKeys(a, res.keys, PermType.Read));
    return res;
  }

  private async timeToLiveOf(ctx: RequestContext, r: { ID: Int64; keys: boolean }) {
    const id = toBigInt(r.ID);
    const withKeys = !!r.keys;
    const header = () => headerToWire(this.server.header());
    const notFound = () => ({ header: header(), ID: id.toString(), TTL: -1, grantedTTL: 0, keys: [] as Buffer[] });
    const res = await this.onLeader(
      async () => {
        const t = await this.server.leases.timeToLive(id, withKeys);
        if (!t) return notFound();
        return { header: header(), ID: id.toString(), TTL: t.ttl, grantedTTL: t.grantedTtl, keys: t.keys };
      },
      async (link, left) => ({ ...(await link.timeToLive(id, withKeys, left, ctx.token)), header: header() }),
      ctx.signal,
    );
    return res;
  }

  async leases(_ctx: RequestContext) {
    return { header: headerToWire(this.server.header()), leases: this.server.leases.list().map((l) => ({ ID: l.id.toString() })) };
  }

  /** One keep-alive: the TTL, or 0 for a lease that does not exist (etcd). It keeps trying whatever its stream's context. */
  async keepAlive(_ctx: RequestContext, r: { ID: Int64 }) {
    const id = toBigInt(r.ID);
    // the header is taken before renewing, as etcd (a keep-alive never looks newer than a revoke)
    const header = headerToWire(this.server.header());
    let ttl: number;
    try {
      ttl = await this.onLeader(
        () => this.server.leases.renew(id),
        (link, left) => link.renew(id, Math.min(left, 3000)),
      );
    } catch (e) {
      if (e !== ErrLeaseNotFound) throw e;
      ttl = 0;
    }
    return { header, ID: id.toString(), TTL: ttl };
  }

  /**
   * Runs `local` if this member is the primary lessor, else `remote` on the leader, retrying until the
   * request timeout or until the caller's context ends (then etcd's ErrTimeout, or ErrCanceled).
   */
  private async onLeader<T>(local: () => Promise<T>, remote: (link: LeaseLeaderLink, leftMs: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const deadline = this.clock.now() + this.timeoutMs;
    const ended = () => (isDeadlineExceeded(signal!) ? ErrTimeout : ErrCanceled);
    let lastErr: unknown = ErrTimeout;
    for (;;) {
      if (signal?.aborted) throw ended();
      try {
        return await local();
      } catch (e) {
        if (!(e instanceof NotPrimaryError)) throw e;
      }
      const leaderId = this.server.leader();
      if (leaderId !== this.server.memberId) {
        const url = this.server.members().find((m) => m.id === leaderId)?.clientUrls[0];
        if (url) {
          if (this.link?.clientUrl !== url) {
            this.link?.close();
            this.link = this.linkTo(url, this.clock);
          }
          try {
            return await untilAborted(remote(this.link, Math.max(1, deadline - this.clock.now())), signal, ended);
          } catch (e) {
            if (e === ErrLeaseNotFound || (e instanceof EtcdError && e.code === GrpcCode.NotFound)) throw ErrLeaseNotFound;
            if (signal?.aborted) throw ended();
            // the leader's own answer (not a transport or leadership problem) is final
            if (e instanceof EtcdError && !TRANSIENT.has(e.code)) throw e;
            lastErr = e;
          }
        } else {
          lastErr = ErrNoLeader;
        }
      }
      if (this.clock.now() >= deadline) throw lastErr === ErrNoLeader ? ErrNoLeader : ErrTimeout;
      await untilAborted(pause(this.clock, RETRY_MS), signal, ended);
    }
  }

  close(): void {
    this.link?.close();
    this.link = undefined;
  }
}

function pause(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.after(ms, resolve));
}
