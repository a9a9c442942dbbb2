/**
 * etcd's /health check (etcdhttp.checkHealth): a leader exists, no alarm is raised, and a
 * linearizable read goes through (it needs a quorum, which a leader alone does not prove).
 */
import type * as kv from "../pb/kv.js";

export interface HealthResult {
  health: boolean;
  reason: string;
}

export interface HealthView {
  readonly hasLeader: boolean;
  readonly alarms: readonly string[];
  /** A linearizable range read. */
  range(req: kv.RangeRequest): Promise<unknown>;
}

/** etcd 3.4 does a v2 quorum GET (hence "QGET" in the reason); a linearizable range stands in for it. */
const healthRange: kv.RangeRequest = {
  key: Buffer.from("health"),
  rangeEnd: Buffer.alloc(0),
  limit: 0,
  revision: 0,
  sortOrder: 0,
  sortTarget: 0,
  serializable: false,
  keysOnly: false,
  countOnly: false,
  minModRevision: 0,
  maxModRevision: 0,
  minCreateRevision: 0,
  maxCreateRevision: 0,
};

export async function checkHealth(v: HealthView): Promise<HealthResult> {
  if (!v.hasLeader) return { health: false, reason: "RAFT NO LEADER" };
  if (v.alarms.length > 0) return { health: false, reason: `ALARM ${v.alarms.join(",")}` };
  try {
    await v.range(healthRange);
    return { health: true, reason: "" };
  } catch (e) {
    return { health: false, reason: `QGET ERROR: ${(e as Error).message}` };
  }
}
