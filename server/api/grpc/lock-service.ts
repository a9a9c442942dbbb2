import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { toBigInt } from "../../pb/convert.js";
import type { Int64, WireHeader } from "../../pb/wire.js";
import { asRecipeError, type V3Client } from "../concurrency/client.js";
import { lock, unlock } from "../concurrency/mutex.js";
import { headerToWire } from "./header.js";
import { unary } from "./unary.js";

export interface WireLockRequest {
  name: Buffer;
  lease: Int64;
}

/** v3lockpb.Lock's calls, for the gRPC service and the JSON gateway alike. */
export class LockHandlers {
  constructor(private readonly client: V3Client) {}

  async lock(r: WireLockRequest, signal: AbortSignal): Promise<{ header: WireHeader; key: Buffer }> {
    const res = await asRecipeError(lock(this.client, r.name ?? Buffer.alloc(0), toBigInt(r.lease), signal));
    return { header: headerToWire(res.header), key: res.key };
  }

  async unlock(r: { key: Buffer }): Promise<{ header: WireHeader }> {
    return { header: headerToWire(await asRecipeError(unlock(this.client, r.key ?? Buffer.alloc(0)))) };
  }
}

export function lockService(h: LockHandlers, metrics: ServerMetrics): UntypedServiceImplementation {
  const svc = "v3lockpb.Lock";
  return {
    Lock: unary(metrics, svc, "Lock", (r: WireLockRequest, signal) => h.lock(r, signal)),
    Unlock: unary(metrics, svc, "Unlock", (r: { key: Buffer }) => h.unlock(r)),
  };
}
