import type { ServerWritableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Header } from "../../etcdserver/server.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { kvToWire, toBigInt, toSafe } from "../../pb/convert.js";
import type { KeyValue } from "../../pb/kv.js";
import type { Int64, WireHeader, WireKeyValue } from "../../pb/wire.js";
import type { V3Client } from "../concurrency/client.js";
import { campaign, currentLeader, ErrMissingLeaderKey, observe, proclaim, resign, type LeaderKey } from "../concurrency/election.js";
import { asRecipeError, sessionLease } from "../concurrency/client.js";
import { grpcCodeName, toServiceError } from "./errors.js";
import { headerToWire } from "./header.js";
import { unary } from "./unary.js";

export interface WireLeaderKey {
  name: Buffer;
  key: Buffer;
  rev: Int64;
  lease: Int64;
}

export interface WireLeaderResponse {
  header: WireHeader;
  kv: WireKeyValue;
}

const leaderToWire = (l: LeaderKey): WireLeaderKey => ({ name: l.name, key: l.key, rev: l.rev, lease: l.lease.toString() });
const leaderResponse = (r: { header: Header; kv: KeyValue }): WireLeaderResponse => ({ header: headerToWire(r.header), kv: kvToWire(r.kv) });

/** v3electionpb.Election's calls, for the gRPC service and the JSON gateway alike. */
export class ElectionHandlers {
  constructor(
    private readonly client: V3Client,
    private readonly headerAt: (rev: number) => Header,
  ) {}

  async campaign(r: { name: Buffer; lease: Int64; value: Buffer }, signal: AbortSignal) {
    const res = await asRecipeError(campaign(this.client, r.name ?? Buffer.alloc(0), toBigInt(r.lease), r.value ?? Buffer.alloc(0), signal));
    return { header: headerToWire(res.header), leader: leaderToWire(res.leader) };
  }

  async proclaim(r: { leader: WireLeaderKey | null; value: Buffer }) {
    return { header: headerToWire(await asRecipeError(this.resume(r.leader).then((l) => proclaim(this.client, l, r.value ?? Buffer.alloc(0))))) };
  }

  async resign(r: { leader: WireLeaderKey | null }) {
    return { header: headerToWire(await asRecipeError(this.resume(r.leader).then((l) => resign(this.client, l)))) };
  }

  async leader(r: { name: Buffer }): Promise<WireLeaderResponse> {
    return leaderResponse(await asRecipeError(currentLeader(this.client, r.name ?? Buffer.alloc(0))));
  }

  async *observe(r: { name: Buffer }, signal: AbortSignal): AsyncGenerator<WireLeaderResponse> {
    for await (const l of observe(this.client, r.name ?? Buffer.alloc(0), signal, this.headerAt)) yield leaderResponse(l);
  }

  /** etcd's ResumeElection on a session for the key's lease (lease 0 means a fresh session lease, as etcd). */
  private async resume(w: WireLeaderKey | null): Promise<LeaderKey> {
    if (!w) throw ErrMissingLeaderKey;
    const lease = await sessionLease(this.client, toBigInt(w.lease));
    return { name: w.name ?? Buffer.alloc(0), key: w.key ?? Buffer.alloc(0), rev: toSafe(w.rev), lease };
  }
}

export function electionService(h: ElectionHandlers, metrics: ServerMetrics): UntypedServiceImplementation {
  const svc = "v3electionpb.Election";
  const labels = { grpc_type: "server_stream", grpc_service: svc, grpc_method: "Observe" };
  return {
    Campaign: unary(metrics, svc, "Campaign", (r: { name: Buffer; lease: Int64; value: Buffer }, signal) => h.campaign(r, signal)),
    Proclaim: unary(metrics, svc, "Proclaim", (r: { leader: WireLeaderKey | null; value: Buffer }) => h.proclaim(r)),
    Leader: unary(metrics, svc, "Leader", (r: { name: Buffer }) => h.leader(r)),
    Resign: unary(metrics, svc, "Resign", (r: { leader: WireLeaderKey | null }) => h.resign(r)),
    Observe: (call: ServerWritableStream<{ name: Buffer }, WireLeaderResponse>) => {
      metrics.grpcStarted.inc(labels);
      const ac = new AbortController();
      call.once("cancelled", () => ac.abort());
      void (async () => {
        try {
          for await (const resp of h.observe(call.request, ac.signal)) {
            if (ac.signal.aborted) break;
            // etcd sends from an unbuffered channel: a slow observer holds the recipe back
            if (!call.write(resp)) await new Promise<void>((r) => { call.once("drain", r); ac.signal.addEventListener("abort", () => r(), { once: true }); });
          }
          metrics.grpcHandled.inc({ ...labels, grpc_code: ac.signal.aborted ? "Canceled" : "OK" });
          if (!ac.signal.aborted) call.end();
        } catch (e) {
          metrics.grpcHandled.inc({ ...labels, grpc_code: grpcCodeName(e) });
          call.emit("error", toServiceError(e));
        }
      })();
    },
  };
}
