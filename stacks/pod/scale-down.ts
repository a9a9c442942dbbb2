/**
 * Scale-down through membership: before a StatefulSet's replica count drops, every member whose
 * ordinal is at or above the new count is removed from the cluster with MemberRemove, highest
 * ordinal first, one at a time, each through a member that stays and only once a leader is seen.
 * The StatefulSet then deletes those pods (and, with the stack's retention policy, their claims):
 * a removed member's data never comes back.
 */
import type { ClusterClient, ClusterMember } from "./cluster-client.js";
import { podOrdinal, StartError } from "./join.js";

export interface ScaleDownPlan {
  readonly remove: readonly { name: string; id: string; ordinal: number }[];
  readonly keep: readonly string[];
}

/** The pod name of a member: its name, or for one that never started, the first label of its peer URL's host. */
export function podNameOf(m: ClusterMember): string {
  return m.name !== "" ? m.name : new URL(m.peerUrls[0]!).hostname.split(".")[0]!;
}

export function planScaleDown(members: readonly ClusterMember[], statefulSet: string, to: number): ScaleDownPlan {
  if (!Number.isInteger(to) || to < 1) throw new StartError(`--to must be at least 1 (a cluster needs a member), got ${to}`);
  const remove: { name: string; id: string; ordinal: number }[] = [];
  const keep: string[] = [];
  for (const m of members) {
    const name = podNameOf(m);
    const p = podOrdinal(name);
    if (p.statefulSet !== statefulSet) throw new StartError(`member ${name} is not a pod of StatefulSet ${statefulSet}: refusing to guess`);
    if (p.ordinal >= to) remove.push({ name, id: m.id, ordinal: p.ordinal });
    else keep.push(name);
  }
  if (keep.length === 0) throw new StartError(`no member below ordinal ${to} is in the cluster: removing the others would leave none`);
  remove.sort((a, b) => b.ordinal - a.ordinal);
  return { remove, keep };
}

export interface ScaleDownDeps {
  readonly client: ClusterClient;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: (line: string) => void;
  readonly leaderWaitMs?: number;
}

/** Removes the members above `to` through `endpoints` (client URLs of the cluster). Returns what it removed. */
export async function scaleDown(endpoints: readonly string[], statefulSet: string, to: number, deps: ScaleDownDeps): Promise<ScaleDownPlan> {
  const withLeader = async (): Promise<string> => {
    const deadline = Date.now() + (deps.leaderWaitMs ?? 30_000);
    for (;;) {
      for (const u of endpoints) {
        const l = await deps.client.leader(u).catch(() => "0");
        if (l !== "0" && l !== "") return u;
      }
      if (Date.now() > deadline) throw new StartError(`no endpoint reports a leader (${endpoints.join(", ")})`);
      await deps.sleep(500);
    }
  };
  const plan = planScaleDown(await deps.client.members(await withLeader()), statefulSet, to);
  for (const r of plan.remove) {
    // A removed member stops answering, so the next removal goes through another endpoint.
    const via = await withLeader();
    const members = await deps.client.remove(via, r.id);
    deps.log(`removed ${r.name} (member ${r.id}) through ${via}; ${members.length} members left`);
  }
  return plan;
}
