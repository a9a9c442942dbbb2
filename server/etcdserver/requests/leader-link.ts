import * as grpc from "@grpc/grpc-js";
import { EtcdError, ErrNoLeader, ErrTimeout, GrpcCode } from "../../pb/errors.js";
import { toSafe } from "../../pb/convert.js";
import type { Int64 } from "../../pb/wire.js";
import { clientConstructor } from "../../pb/grpc-services.js";
import { SYSTEM_CLOCK, type Clock } from "../../util/clock.js";

export interface WireLeaseTimeToLiveResponse {
  header?: unknown;
  ID: Int64;
  TTL: Int64;
  grantedTTL: Int64;
  keys: Buffer[];
}

/**
 * What a follower's lease requests need of their way to the leader: LeaderLink below over gRPC in a
 * process; test/support/inproc/ passes one that calls the leader member in memory.
 */
export interface LeaseLeaderLink {
  readonly clientUrl: string;
  /** One keep-alive: the leader's TTL for the lease (0: no such lease); ErrTimeout when unanswered within `timeoutMs`. */
  renew(id: bigint, timeoutMs: number): Promise<number>;
  timeToLive(id: bigint, keys: boolean, deadlineMs: number, token?: string): Promise<WireLeaseTimeToLiveResponse>;
  close(): void;
}

/**
 * Keep-alive and time-to-live are answered by the leader's lessor. A follower forwards them to the
 * leader's client URL over gRPC (etcd forwards over the peer HTTP port): keep-alives share one
 * LeaseKeepAlive stream per leader (the leader answers a stream's requests in order, one response
 * each, so responses match requests first-in first-out).
 */
export class LeaderLink implements LeaseLeaderLink {
  private readonly client: grpc.Client & Record<string, unknown>;
  private stream: grpc.ClientDuplexStream<{ ID: string }, { TTL: string }> | undefined;
  private pending: Array<{ resolve: (ttl: number) => void; reject: (e: Error) => void }> = [];

  constructor(
    readonly clientUrl: string,
    /** What measures a keep-alive's timeout (the member's clock). */
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    const Ctor = clientConstructor("etcdserverpb", "Lease");
    this.client = new Ctor(new URL(clientUrl).host, grpc.credentials.createInsecure()) as grpc.Client & Record<string, unknown>;
  }

  /** One keep-alive on the shared stream; a request unanswered within `timeoutMs` resets the stream (so responses stay matched). */
  renew(id: bigint, timeoutMs: number): Promise<number> {
    const s = this.keepAliveStream();
    return new Promise((resolve, reject) => {
      const cancelTimer = this.clock.after(timeoutMs, () => this.resetStream(s, ErrTimeout));
      this.pending.push({
        resolve: (ttl) => {
          cancelTimer();
          resolve(ttl);
        },
        reject: (e) => {
          cancelTimer();
          reject(e);
        },
      });
      s.write({ ID: id.toString() });
    });
  }

  private resetStream(s: grpc.ClientDuplexStream<{ ID: string }, { TTL: string }>, e: Error): void {
    if (this.stream !== s) return;
    this.stream = undefined;
    for (const p of this.pending.splice(0)) p.reject(e);
    s.cancel();
  }

  /** `token`: the caller's, so that the leader checks the caller's access to the keys. */
  timeToLive(id: bigint, keys: boolean, deadlineMs: number, token?: string): Promise<WireLeaseTimeToLiveResponse> {
    const md = new grpc.Metadata();
    if (token) md.set("token", token);
    return new Promise((resolve, reject) => {
      (this.client.LeaseTimeToLive as (r: object, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: WireLeaseTimeToLiveResponse) => void) => void).call(
        this.client,
        { ID: id.toString(), keys },
        md,
        // grpc-js takes an absolute wall-clock deadline (it sends it as a relative grpc-timeout)
        { deadline: Date.now() + deadlineMs },
        (err, res) => (err ? reject(new EtcdError(err.code as number as GrpcCode, err.details)) : resolve(res)),
      );
    });
  }

  private keepAliveStream(): grpc.ClientDuplexStream<{ ID: string }, { TTL: string }> {
    if (this.stream) return this.stream;
    const s = (this.client.LeaseKeepAlive as () => grpc.ClientDuplexStream<{ ID: string }, { TTL: string }>).call(this.client);
    s.on("data", (res: { TTL: string }) => this.pending.shift()?.resolve(toSafe(res.TTL)));
    const fail = (e: Error) => this.resetStream(s, e);
    s.on("error", (e: grpc.ServiceError) => fail(new EtcdError(e.code as number as GrpcCode, e.details)));
    s.on("end", () => fail(ErrNoLeader));
    this.stream = s;
    return s;
  }

  close(): void {
    this.stream?.cancel();
    this.stream = undefined;
    this.client.close();
  }
}
