/**
 * Failover scenarios: a steady write load over all members, a fault injected into the leader (or a follower),
 * and what clients saw: time to a new leader, time to the first successful write, the window in which they
 * saw errors, failed and timed-out requests, and whether any acknowledged write was lost (every acknowledged
 * key is read back at the end; lost must be 0).
 *
 * Writers are closed loops, each homed on one member; after a failed request a writer backs off 10 ms and
 * moves to the next member (what etcd's clients do with several endpoints).
 */
import { EtcdChannel, endpointStatus, errorKind, isTimeout, prefixEnd, unary } from "./etcd-client.js";
import type { FailoverScenario, FailoverTrial } from "./schema.js";
import type { ClusterTarget, TargetMember } from "./target.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const FAILOVER_SCENARIOS: FailoverScenario[] = ["kill-leader", "stop-leader", "kill-follower", "pause-leader"];

export interface LeaderInfo {
  name: string;
  id: string;
  /** member name → member id */
  ids: Map<string, string>;
}

/** Ask every member for its Status; the leader is the id most members name. */
export async function findLeader(members: TargetMember[], timeoutMs = 1000): Promise<LeaderInfo | null> {
  const st = await Promise.all(members.map((m) => endpointStatus(m.clientUrl, timeoutMs).catch(() => null)));
  const ids = new Map<string, string>();
  const votes = new Map<string, number>();
  st.forEach((s, i) => {
    if (!s) return;
    ids.set(members[i]!.name, s.memberId);
    if (s.leaderId !== "0") votes.set(s.leaderId, (votes.get(s.leaderId) ?? 0) + 1);
  });
  const best = [...votes.entries()].sort((a, b) => b[1] - a[1])[0];
  if (!best) return null;
  const name = [...ids.entries()].find(([, id]) => id === best[0])?.[0];
  return name ? { name, id: best[0], ids } : null;
}

export interface FailoverOptions {
  scenario: FailoverScenario;
  trial: number;
  keyPrefix: string;
  writers: number;
  valSize: number;
  /** Per-request deadline. */
  timeoutMs: number;
  /** Steady load before the fault. */
  preMs: number;
  /** Load kept up after the cluster took writes again. */
  postMs: number;
  /** pause-leader: how long the leader stays SIGSTOPped. */
  pauseMs: number;
  /** Give up waiting for recovery after this long from the fault. */
  maxRecoveryMs: number;
  bucketMs?: number;
  signal?: AbortSignal;
  onProgress?: (msg: string) => void;
}

interface Outcome {
  start: number;
  end: number;
  ok: boolean;
  timeout: boolean;
}

export async function runFailoverTrial(target: ClusterTarget, o: FailoverOptions): Promise<FailoverTrial> {
  const control = target.control;
  if (!control) throw new Error("failover needs a target whose members the suite controls (a local cluster)");
  if (target.size < 3) throw new Error("failover needs at least 3 members");
  const bucketMs = o.bucketMs ?? 100;
  const startedAt = new Date().toISOString();

  await control.waitHealthy();
  const leader = await retry(() => findLeader(target.members()), 20, 100);
  if (!leader) throw new Error("no leader before the fault");
  const members = target.members();
  const victimName = o.scenario === "kill-follower" ? members.find((m) => m.name !== leader.name)!.name : leader.name;
  const victimRole: "leader" | "follower" = o.scenario === "kill-follower" ? "follower" : "leader";
  const survivors = members.filter((m) => m.name !== victimName);

  // Writers.
  const channels = new Map(members.map((m) => [m.name, new EtcdChannel(m.clientUrl)]));
  await Promise.all([...channels.values()].map((c) => c.ready(5000).catch(() => undefined)));
  const outcomes: Outcome[] = [];
  const acked = new Map<string, string>();
  const errorKinds: Record<string, number> = {};
  let stopWriters = false;
  let seq = 0;
  const value = (n: number) => String(n).padEnd(Math.max(o.valSize, 12), ".");
  const writers = Array.from({ length: o.writers }, async (_, w) => {
    let home = w % members.length;
    while (!stopWriters && !o.signal?.aborted) {
      const n = ++seq;
      const key = `${o.keyPrefix}${String(n).padStart(8, "0")}`;
      const v = value(n);
      const ch = channels.get(members[home]!.name)!;
      const start = performance.now();
      try {
        await unary(ch.kv(), "Put", { key: Buffer.from(key), value: Buffer.from(v) }, o.timeoutMs);
        acked.set(key, v);
        outcomes.push({ start, end: performance.now(), ok: true, timeout: false });
      } catch (e) {
        const timeout = isTimeout(e);
        outcomes.push({ start, end: performance.now(), ok: false, timeout });
        const k = errorKind(e);
        if (k in errorKinds || Object.keys(errorKinds).length < 10) errorKinds[k] = (errorKinds[k] ?? 0) + 1;
        home = (home + 1) % members.length;
        await sleep(10);
      }
    }
  });

  let t0 = 0;
  let newLeader: string | null = null;
  let newLeaderAt: number | null = null;
  let restoredAt: number | null = null;
  let statusChannels: EtcdChannel[] = [];
  try {
    await sleep(o.preMs);
    if (o.signal?.aborted) throw new Error("interrupted");
    o.onProgress?.(`${o.scenario}: fault on ${victimName} (${victimRole})`);

    // Watch for a new leader among the survivors from the moment of the fault.
    let watching = true;
    statusChannels = survivors.map((m) => new EtcdChannel(m.clientUrl));
    const watcher = (async () => {
      while (watching) {
        const st = await Promise.all(survivors.map((m, i) => endpointStatus(m.clientUrl, 250, statusChannels[i]).catch(() => null)));
        const other = st.find((s) => s && s.leaderId !== "0" && s.leaderId !== leader.id);
        if (other && newLeaderAt === null) {
          newLeaderAt = performance.now();
          newLeader = [...leader.ids.entries()].find(([, id]) => id === other.leaderId)?.[0] ?? other.leaderId;
          return;
        }
        await sleep(25);
      }
    })();

    t0 = performance.now();
    let action: string;
    switch (o.scenario) {
      case "kill-leader":
      case "kill-follower":
        action = "SIGKILL";
        await control.kill(victimName, "SIGKILL");
        break;
      case "stop-leader":
        action = "SIGTERM";
        await control.stop(victimName);
        break;
      case "pause-leader":
        action = `SIGSTOP ${o.pauseMs}ms`;
        await control.pause(victimName);
        await sleep(o.pauseMs);
        await control.resume(victimName);
        break;
    }

    // Recovery: a write sent after the fault succeeded (and, for leader faults, a new leader was seen).
    const expectNewLeader = victimRole === "leader";
    const until = t0 + o.maxRecoveryMs;
    const firstOkAfter = () => outcomes.find((x) => x.ok && x.start >= t0);
    while (performance.now() < until && !o.signal?.aborted) {
      if (firstOkAfter() && (!expectNewLeader || newLeaderAt !== null)) break;
      await sleep(20);
    }
    await sleep(o.postMs);
    watching = false;
    await watcher;
    stopWriters = true;
    await Promise.all(writers);

    // Put the victim back.
    if (o.scenario !== "pause-leader") await control.start(victimName);
    await control.waitHealthy();
    restoredAt = performance.now();

    // Read every acknowledged key back.
    const { lost, verified } = await verifyAcked(target, o.keyPrefix, acked, o.timeoutMs);

    const firstOk = firstOkAfter();
    const fails = outcomes.filter((x) => !x.ok && x.end >= t0);
    const timeline = buildTimeline(outcomes, t0, o.preMs, bucketMs);
    const rel = (x: number | null) => (x === null ? null : Math.round(x - t0));
    const marks = [{ label: "fault", atMs: 0 }];
    if (newLeaderAt !== null) marks.push({ label: "new leader", atMs: rel(newLeaderAt)! });
    if (firstOk) marks.push({ label: "first write", atMs: rel(firstOk.end)! });
    marks.push({ label: "restored", atMs: rel(restoredAt)! });
    timeline.marks = marks;
    return {
      kind: "failover",
      trial: o.trial,
      scenario: o.scenario,
      startedAt,
      victim: { name: victimName, role: victimRole },
      action: action!,
      oldLeader: leader.name,
      newLeader: newLeader ?? leader.name,
      leaderChanged: newLeader !== null,
      timeToNewLeaderMs: rel(newLeaderAt),
      timeToFirstWriteMs: firstOk ? rel(firstOk.end) : null,
      errorWindowMs: fails.length ? Math.round(Math.max(...fails.map((x) => x.end)) - Math.min(...fails.map((x) => x.end))) : 0,
      sent: outcomes.length,
      acked: acked.size,
      failed: outcomes.filter((x) => !x.ok && !x.timeout).length,
      timedOut: outcomes.filter((x) => x.timeout).length,
      lost,
      verifiedKeys: verified,
      recoveryMs: rel(restoredAt),
      timeline,
      ...(Object.keys(errorKinds).length ? { errorKinds } : {}),
    } as FailoverTrial;
  } finally {
    stopWriters = true;
    await Promise.all(writers);
    for (const c of [...channels.values(), ...statusChannels]) c.close();
    // Whatever happened, do not leave the victim stopped or paused.
    if (t0 && restoredAt === null) {
      await control.resume(victimName).catch(() => undefined);
      if (o.scenario !== "pause-leader") await control.start(victimName).catch(() => undefined);
    }
  }
}

async function retry<T>(f: () => Promise<T | null>, times: number, delayMs: number): Promise<T | null> {
  for (let i = 0; i < times; i++) {
    const r = await f();
    if (r) return r;
    await sleep(delayMs);
  }
  return null;
}

/** Linearizable reads of the whole prefix (paged), every acknowledged key checked for presence and value. */
export async function verifyAcked(target: ClusterTarget, prefix: string, acked: Map<string, string>, timeoutMs: number): Promise<{ lost: number; verified: number }> {
  const seen = new Map<string, string>();
  const end = prefixEnd(Buffer.from(prefix));
  let lastErr: unknown;
  for (const m of target.members()) {
    const ch = new EtcdChannel(m.clientUrl);
    try {
      let from = Buffer.from(prefix);
      for (;;) {
        const res = await unary(ch.kv(), "Range", { key: from, range_end: end, limit: 5000 }, Math.max(timeoutMs, 5000));
        for (const kv of res.kvs ?? []) seen.set(Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString());
        if (!res.more || !(res.kvs ?? []).length) break;
        const last = Buffer.from(res.kvs[res.kvs.length - 1].key);
        from = Buffer.concat([last, Buffer.from([0])]);
      }
      let lost = 0;
      for (const [k, v] of acked) if (seen.get(k) !== v) lost++;
      return { lost, verified: acked.size };
    } catch (e) {
      lastErr = e;
      seen.clear();
    } finally {
      ch.close();
    }
  }
  throw new Error(`could not read the acknowledged keys back: ${errorKind(lastErr)}`);
}

export function buildTimeline(outcomes: Outcome[], t0: number, preMs: number, bucketMs: number): FailoverTrial["timeline"] {
  const startMs = -Math.ceil(preMs / bucketMs) * bucketMs;
  const lastEnd = outcomes.reduce((a, x) => Math.max(a, x.end - t0), 0);
  const n = Math.max(1, Math.ceil((lastEnd - startMs) / bucketMs) + 1);
  const ok = Array(n).fill(0);
  const errors = Array(n).fill(0);
  const timeouts = Array(n).fill(0);
  for (const x of outcomes) {
    const i = Math.floor((x.end - t0 - startMs) / bucketMs);
    if (i < 0 || i >= n) continue;
    if (x.ok) ok[i]++;
    else if (x.timeout) timeouts[i]++;
    else errors[i]++;
  }
  return { bucketMs, startMs, ok, errors, timeouts, marks: [] };
}
