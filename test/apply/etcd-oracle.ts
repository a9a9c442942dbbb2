/**
 * A real etcd 3.4 (started by the shared launcher, test/support/launcher.ts) for differential tests,
 * driven with raw gRPC through etcd-ts's own proto loader (int64 as strings, enums as numbers).
 */
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/pb/grpc-services.js";
import { startMember, type MemberProcess } from "../support/launcher.js";

export interface GrpcError {
  readonly code: number;
  readonly details: string;
}

export type Reply<T> = { ok: true; value: T } | { ok: false; err: GrpcError };

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export class EtcdOracle {
  private constructor(
    private readonly member: MemberProcess,
    readonly endpoint: string,
    private readonly kv: grpc.Client,
    private readonly maint: grpc.Client,
  ) {}

  /** A single real etcd (the shared launcher's), answering a linearizable Range (leader elected, serving). */
  static async start(extraFlags: string[] = []): Promise<EtcdOracle> {
    const member = await startMember("etcd", { name: "oracle", flags: extraFlags });
    const endpoint = member.endpoint;
    const KV = clientConstructor("etcdserverpb", "KV");
    const M = clientConstructor("etcdserverpb", "Maintenance");
    const o = new EtcdOracle(member, endpoint, new KV(endpoint, grpc.credentials.createInsecure()), new M(endpoint, grpc.credentials.createInsecure()));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await o.call("kv", "Range", { key: Buffer.from("ready?") });
      if (r.ok) break;
      if (Date.now() > deadline) {
        const log = o.log();
        await o.stop();
        throw new Error(`etcd did not start: ${log.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return o;
  }

  call<T = any>(svc: "kv" | "maint", method: string, req: unknown): Promise<Reply<T>> {
    const c = (svc === "kv" ? this.kv : this.maint) as unknown as Record<string, Unary>;
    return new Promise((resolve) => {
      c[method]!.call(c, req, (err, res) => {
        if (err) resolve({ ok: false, err: { code: err.code, details: err.details } });
        else resolve({ ok: true, value: res as T });
      });
    });
  }

  log(): string {
    try {
      return this.member.log();
    } catch {
      return "";
    }
  }

  /** Kill the etcd we started (by its PID) and remove its data. */
  async stop(): Promise<void> {
    this.kv.close();
    this.maint.close();
    await this.member.dispose();
  }
}
