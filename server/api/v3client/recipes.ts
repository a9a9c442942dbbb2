import type { EtcdServer } from "../../etcdserver/server.js";
import { ElectionHandlers } from "../grpc/election-service.js";
import type { LeaseHandlers } from "../grpc/lease-service.js";
import { LockHandlers } from "../grpc/lock-service.js";
import { LocalClient } from "./local-client.js";

export interface RecipeHandlers {
  readonly lock: LockHandlers;
  readonly election: ElectionHandlers;
}

/** The Lock and Election services run etcd's client recipes against the member itself (etcd's v3client). */
export function recipeHandlers(server: EtcdServer, leases: LeaseHandlers): RecipeHandlers {
  const client = new LocalClient(server, leases);
  return { lock: new LockHandlers(client), election: new ElectionHandlers(client, (rev) => server.header(rev)) };
}
