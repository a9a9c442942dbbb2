/** The Lock service (etcd's v3lock): clientv3/concurrency's Mutex run by the member against itself. */
import type { RequestContext } from "../../etcdserver/requests/context.js";
import { headerToWire, toBigInt } from "../../pb/convert.js";
import type { WireLockRequest } from "../../pb/wire.js";
import type { LockService } from "../../etcdserver/requests/services.js";
import { asRecipeError } from "../concurrency/client.js";
import { lock, unlock } from "../concurrency/mutex.js";
import type { LocalClient } from "./local-client.js";

export class LockRequests implements LockService {
  constructor(private readonly client: LocalClient) {}

  async lock(ctx: RequestContext, r: WireLockRequest) {
    const res = await asRecipeError(lock(this.client.as(ctx), r.name ?? Buffer.alloc(0), toBigInt(r.lease), ctx.signal));
    return { header: headerToWire(res.header), key: res.key };
  }

  async unlock(ctx: RequestContext, r: { key: Buffer }) {
    return { header: headerToWire(await asRecipeError(unlock(this.client.as(ctx), r.key ?? Buffer.alloc(0)))) };
  }
}
