/**
 * A 3-member etcd-ts cluster on 3 namespace hosts of the kit's hosts lab, installed over TLS (the
 * default) by etcdkit's SSH deploy over each host's own sshd (the supervisor fallback: no systemd runs
 * here), then the leader is cut from both followers (nftables inside the hosts) under a write load:
 * - a new leader is elected among the followers and writes succeed again;
 * - no acknowledged write is lost (every acknowledged key is read back after the heal);
 * - the old leader serves no stale linearizable read (a key the others keep writing is read on the
 *   old leader only; a read that saw a revision older than an acknowledged write's is stale);
 * and the teardown leaves no namespace, process, mount, file, cgroup or user behind.
 * Also checked on the way: each member runs as the lab's service user, in its host's CPU cgroup
 * (when the machine has a cpu controller), with its data under its own host's tree only.
 *
 * HOSTS_SERVER=etcd runs the same against Debian's etcd 3.4. Skips (saying why) only where network
 * namespaces cannot be created.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { HostsLab } from "../../ansible-free-scripts/hosts/lab.js";
import { labUnavailable } from "../../ansible-free-scripts/hosts/netns.js";
import { mountsUnder, stillRunning } from "../../ansible-free-scripts/hosts/lab-traces.js";
import { hostsTarget, runConditions } from "../../bench/hosts-target.js";
import { runPartitionTrial } from "../../bench/partition.js";
import { ensureSshd } from "../support/ensure-sshd.js";

const SERVER = process.env.HOSTS_SERVER === "etcd" ? "etcd" : "etcd-ts";
const unavailable = labUnavailable();

type Diag = { diagnostic(m: string): void };

/** Each member: the service user, its host's cgroup, its data only on its own host's tree. */
function checkPlacement(t: Diag, lab: HostsLab): number[] {
  const uid = Number(execFileSync("id", ["-u", lab.user], { encoding: "utf8" }).trim());
  const pids: number[] = [];
  for (const [i, m] of lab.members().entries()) {
    const pid = lab.memberPid(m.name);
    assert.ok(pid !== null, `${m.name} runs`);
    pids.push(pid);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s`, "m"), `${m.name} runs as ${lab.user}`);
    if (lab.cgroups.isolation.kind !== "none") {
      assert.match(readFileSync(`/proc/${pid}/cgroup`, "utf8"), new RegExp(`/${lab.net.tag}/host-${i + 1}$`, "m"), `${m.name} is in host-${i + 1}'s cgroup`);
    }
    for (const [j, h] of lab.net.hosts.entries()) {
      const data = join(lab.hostFs(h), "var", "lib", "etcdkit", m.name);
      assert.equal(existsSync(data), i === j, `${m.name}'s data dir is on ${i === j ? "its own host" : `no other host (${h.name})`}`);
    }
  }
  assert.equal(statSync(lab.sharedFs).isDirectory(), true);
  assert.deepEqual(execFileSync("ls", ["-A", lab.sharedFs], { encoding: "utf8" }).trim(), "", "outside the hosts, the shared path is empty");
  t.diagnostic(`members ${pids.join(", ")} as ${lab.user}; isolation: ${lab.cgroups.isolation.detail}`);
  return pids;
}

describe("SSH deploy on namespace hosts, leader partitioned", { skip: unavailable ? `skipped: ${unavailable}` : false, timeout: 300_000 }, () => {
  test(`3 ${SERVER} members on 3 hosts: leader isolated, new leader, nothing lost, no stale read, no trace left`, { timeout: 280_000 }, async (t) => {
    ensureSshd();
    const t0 = Date.now();
    const lines: string[] = [];
    const log = (l: string) => lines.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${l}`);
    const lab = await HostsLab.create({ hosts: 3, checkLink: false, log });
    let pids: number[] = [];
    const tag = lab.net.tag;
    try {
      // TLS, the kit's default: the writers, the reads on the old leader and the leader checks all present
      // the lab's root client certificate (hostsTarget registers it for the members' endpoints).
      await lab.deploy(SERVER, log);
      assert.ok(lab.clientTls, "the cluster runs TLS");
      for (const m of lab.members()) assert.match(m.clientUrl, /^https:\/\//, `${m.name} serves https`);
      assert.equal(lab.record().serviceManager, "supervisor", "namespace hosts always use the supervisor fallback");
      pids = checkPlacement(t, lab);
      const target = hostsTarget(lab, SERVER, runConditions(lab), log);
      const trial = await runPartitionTrial(target, {
        scenario: "partition-leader",
        trial: 1,
        keyPrefix: "test/hosts/partition/",
        writers: 4,
        valSize: 8,
        timeoutMs: 1000,
        preMs: 1000,
        postMs: 1500,
        partitionMs: 4000,
        flaps: 1,
        flapUpMs: 0,
        maxRecoveryMs: 60_000,
      });
      const p = trial.partition!;
      t.diagnostic(`leader ${trial.oldLeader} cut (${p.cuts.join(" ")}) for ${p.heldMs} ms: new leader ${trial.newLeader} after ${trial.timeToNewLeaderMs} ms, first write after ${trial.timeToFirstWriteMs} ms; ${trial.acked}/${trial.sent} writes acknowledged, ${trial.failed} failed, ${trial.timedOut} timed out (${JSON.stringify(trial.errorKinds ?? {})}); old leader reads ${JSON.stringify(p.oldLeaderReads)}`);
      assert.deepEqual(p.cuts.sort(), [`${trial.oldLeader}>etcd-1`, `${trial.oldLeader}>etcd-2`, `${trial.oldLeader}>etcd-3`, `etcd-1>${trial.oldLeader}`, `etcd-2>${trial.oldLeader}`, `etcd-3>${trial.oldLeader}`].filter((c) => c !== `${trial.oldLeader}>${trial.oldLeader}`).sort());
      assert.equal(trial.leaderChanged, true, "a new leader was elected");
      assert.notEqual(trial.newLeader, trial.oldLeader);
      assert.ok(trial.timeToNewLeaderMs !== null && trial.timeToFirstWriteMs !== null, "a write succeeded after the cut");
      assert.ok(trial.acked >= 20, `the writers got work done (${trial.acked} acknowledged)`);
      assert.equal(trial.verifiedKeys, trial.acked);
      assert.equal(trial.lost, 0, "no acknowledged write lost");
      assert.ok(p.oldLeaderReads.sent > 0, "reads were sent to the old leader during the partition");
      assert.equal(p.oldLeaderReads.stale, 0, `the old leader served stale reads: ${JSON.stringify(p.staleExamples)}`);

      await lab.sshTeardown(log);
      assert.deepEqual(stillRunning(pids), [], "the SSH teardown stopped every member");
      for (const h of lab.net.hosts) assert.equal(existsSync(join(lab.hostFs(h), "var", "lib", "etcdkit")), false, `no data left on ${h.name}`);
    } finally {
      await lab.destroy().catch((e: Error) => t.diagnostic(e.message));
      t.diagnostic(lines.join("\n"));
    }
    assert.deepEqual(lab.leftovers(), []);
    assert.doesNotMatch(execFileSync("ip", ["netns", "list"], { encoding: "utf8" }), new RegExp(tag), "no namespace");
    assert.deepEqual(stillRunning(pids), [], "no process");
    assert.deepEqual(mountsUnder(lab.dir), [], "no mount");
    assert.equal(existsSync(lab.dir), false, "no file");
    t.diagnostic(`took ${Date.now() - t0} ms`);
  });
});

if (unavailable) console.log(`# hosts partition test skipped: ${unavailable}`);
