import type { Header } from "../../pb/kv.js";
import type { ElectionService, LockService } from "../../etcdserver/requests/services.js";
import { ElectionRequests } from "./election.js";
import { LocalClient, type LocalServices } from "./local-client.js";
import { LockRequests } from "./lock.js";

export interface RecipeServices {
  readonly lock: LockService;
  readonly election: ElectionService;
}

/** The Lock and Election services run etcd's client recipes against the member's own request layer (etcd's v3client). */
export function recipeServices(services: LocalServices, headerAt: (rev: number) => Header): RecipeServices {
  const client = new LocalClient(services);
  return { lock: new LockRequests(client), election: new ElectionRequests(client, headerAt) };
}
