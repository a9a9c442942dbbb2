/** The Election service (etcd's v3election): clientv3/concurrency's Election run by the member against itself. */
import type { RequestContext } from "../../etcdserver/requests/context.js";
import { headerToWire, kvToWire, toBigInt, toSafe } from "../../pb/convert.js";
import type { Header, KeyValue } from "../../pb/kv.js";
import type { Int64, WireLeaderKey, WireLeaderResponse } from "../../pb/wire.js";
import type { ElectionService } from "../../etcdserver/requests/services.js";
import { asRecipeError, sessionLease, type V3Client } from "../concurrency/client.js";
import { campaign, currentLeader, ErrMissingLeaderKey, observe, proclaim, resign, type LeaderKey } from "../concurrency/election.js";
import type { LocalClient } from "./local-client.js";

const leaderToWire = (l: LeaderKey): WireLeaderKey => ({ name: l.name, key: l.key, rev: l.rev, lease: l.lease.toString() });
const leaderResponse = (r: { header: Header; kv: KeyValue }): WireLeaderResponse => ({ header: headerToWire(r.header), kv: kvToWire(r.kv) });

export class ElectionRequests implements ElectionService {
  constructor(
    private readonly client: LocalClient,
    private readonly headerAt: (rev: number) => Header,
  ) {}

  async campaign(ctx: RequestContext, r: { name: Buffer; lease: Int64; value: Buffer }) {
    const res = await asRecipeError(campaign(this.client.as(ctx), r.name ?? Buffer.alloc(0), toBigInt(r.lease), r.value ?? Buffer.alloc(0), ctx.signal));
    return { header: headerToWire(res.header), leader: leaderToWire(res.leader) };
  }

  async proclaim(ctx: RequestContext, r: { leader: WireLeaderKey | null; value: Buffer }) {
    const c = this.client.as(ctx);
    return { header: headerToWire(await asRecipeError(resume(c, r.leader).then((l) => proclaim(c, l, r.value ?? Buffer.alloc(0))))) };
  }

  async resign(ctx: RequestContext, r: { leader: WireLeaderKey | null }) {
    const c = this.client.as(ctx);
    return { header: headerToWire(await asRecipeError(resume(c, r.leader).then((l) => resign(c, l)))) };
  }

  async leader(ctx: RequestContext, r: { name: Buffer }): Promise<WireLeaderResponse> {
    return leaderResponse(await asRecipeError(currentLeader(this.client.as(ctx), r.name ?? Buffer.alloc(0))));
  }

  async *observe(ctx: RequestContext, r: { name: Buffer }): AsyncGenerator<WireLeaderResponse> {
    for await (const l of observe(this.client.as(ctx), r.name ?? Buffer.alloc(0), ctx.signal, this.headerAt)) yield leaderResponse(l);
  }
}

/** etcd's ResumeElection on a session for the key's lease (lease 0 means a fresh session lease, as etcd). */
async function resume(c: V3Client, w: WireLeaderKey | null): Promise<LeaderKey> {
  if (!w) throw ErrMissingLeaderKey;
  const lease = await sessionLease(c, toBigInt(w.lease));
  return { name: w.name ?? Buffer.alloc(0), key: w.key ?? Buffer.alloc(0), rev: toSafe(w.rev), lease };
}
