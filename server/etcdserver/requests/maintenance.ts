/**
 * The Maintenance service (etcd's Status, Alarm, MoveLeader, Hash, HashKV, Defragment, Snapshot) and
 * the health check behind /health. Alarms go through raft (EtcdServer.alarm): every member lists the
 * same ones. Defragment and Snapshot act on this member's backend only, as etcd's. With auth on,
 * alarms, HashKV, Hash, Defragment and Snapshot are root's (access.ts); Status and MoveLeader are anyone's.
 * HashKV, Hash, Defragment and Snapshot refuse with the auth store's own error (code Unknown,
 * "auth: …"), as etcd's authMaintenanceServer does; Alarm goes through raft and etcd's table.
 */
import type { EtcdServer } from "../server.js";
import type { HealthResult } from "../health.js";
import { headerToWire, toSafe } from "../../pb/convert.js";
import type { WireAlarmRequest } from "../../pb/raft-entry.js";
import type { Int64 } from "../../pb/wire.js";
import type { RequestContext } from "./context.js";
import type { Headed } from "./kv.js";
import type { Access } from "./access.js";
import { untranslatedAuthError } from "./api-errors.js";

export interface WireStatusResponse extends Headed {
  version: string;
  dbSize: number;
  leader: string;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  errors: string[];
  dbSizeInUse: number;
  isLearner: boolean;
}

export interface MaintenanceService {
  status(ctx: RequestContext): Promise<WireStatusResponse>;
  /** etcd 3.4's AlarmResponse has no header (its Maintenance.Alarm fills none). */
  alarm(ctx: RequestContext, r: WireAlarmRequest): Promise<{ alarms: { memberID: string; alarm: number }[] }>;
  moveLeader(ctx: RequestContext, r: { targetID: Int64 }): Promise<Headed>;
  hashKV(ctx: RequestContext, r: { revision: Int64 }): Promise<Headed & { hash: number; compact_revision: number }>;
  hash(ctx: RequestContext): Promise<Headed & { hash: number }>;
  /** No header, as etcd's. */
  defragment(ctx: RequestContext): Promise<Record<string, never>>;
  /** Chunks of the backend then the SHA-256 trailer (backend-maintenance.ts), until done or `ctx` ends; no header, as etcd's. */
  snapshot(ctx: RequestContext): AsyncGenerator<{ remainingBytes: number; blob: Buffer }>;
  /** etcd's /health: a leader, no alarm, and a linearizable read that goes through. */
  health(ctx: RequestContext): Promise<HealthResult>;
}

export class MaintenanceRequests implements MaintenanceService {
  constructor(
    private readonly server: EtcdServer,
    private readonly access?: Access,
  ) {}

  /** etcd's authMaintenanceServer.isAuthenticated: root only, refused with the auth store's error as it is. */
  private async rootOnly(ctx: RequestContext): Promise<void> {
    if (!this.access) return;
    try {
      await this.access.check(ctx, this.access.admin);
    } catch (e) {
      throw untranslatedAuthError(e);
    }
  }

  async status(_ctx: RequestContext) {
    const s = this.server.status();
    return {
      header: headerToWire(s.header),
      version: s.version,
      dbSize: s.dbSize,
      leader: s.leader.toString(),
      raftIndex: s.raftIndex,
      raftTerm: s.raftTerm,
      raftAppliedIndex: s.raftAppliedIndex,
      errors: s.errors,
      dbSizeInUse: s.dbSizeInUse,
      isLearner: s.isLearner,
    };
  }

  async alarm(ctx: RequestContext, r: WireAlarmRequest) {
    const ai = await this.access?.check(ctx, this.access.admin);
    const res = await this.server.alarm(r.action ?? 0, BigInt(r.memberID ?? 0), r.alarm ?? 0, ctx.signal, this.access?.stampOf(ai));
    return {
      alarms: res.alarms.map((a) => ({ memberID: a.memberId.toString(), alarm: a.alarm })),
    };
  }

  async moveLeader(ctx: RequestContext, r: { targetID: Int64 }) {
    await this.server.moveLeader(BigInt(r.targetID ?? 0), undefined, ctx.signal);
    return { header: headerToWire(this.server.header()) };
  }

  async hashKV(ctx: RequestContext, r: { revision: Int64 }) {
    await this.rootOnly(ctx);
    const h = this.server.hashKV(toSafe(r.revision));
    return { header: headerToWire(this.server.header(h.rev)), hash: h.hash, compact_revision: h.compactRevision };
  }

  async hash(ctx: RequestContext) {
    await this.rootOnly(ctx);
    const h = await this.server.hash();
    return { header: headerToWire(this.server.header(h.revision)), hash: h.hash };
  }

  async defragment(ctx: RequestContext) {
    await this.rootOnly(ctx);
    await this.server.defragment();
    return {};
  }

  async *snapshot(ctx: RequestContext) {
    await this.rootOnly(ctx);
    for await (const c of this.server.snapshot(ctx.signal)) yield { remainingBytes: c.remainingBytes, blob: c.blob };
  }

  health(_ctx: RequestContext): Promise<HealthResult> {
    return this.server.health();
  }
}
