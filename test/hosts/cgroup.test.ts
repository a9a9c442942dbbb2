/**
 * CPU isolation of namespace hosts (ansible-free-scripts/hosts/cgroup.ts): which controller is used
 * (cgroup v2 with cpu enabled for children, else v1's cpu controller, else none with the reason),
 * the values written for each, and, on this machine's real controller when there is one, a process
 * moved into a host's group and the groups removed without a trace.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findCpuController, HostCgroups } from "../../ansible-free-scripts/hosts/cgroup.js";

function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "etcdkit-cgroup-fake-"));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(root, f, ".."), { recursive: true });
    writeFileSync(join(root, f), text);
  }
  return root;
}

test("controller choice: v2 with cpu enabled, else v1 cpu, else none with every reason", () => {
  const roots: string[] = [];
  try {
    const v2 = fakeRoot({ "cgroup.controllers": "cpuset cpu io memory", "cgroup.subtree_control": "cpu memory" });
    const v2off = fakeRoot({ "cgroup.controllers": "cpuset cpu io", "cgroup.subtree_control": "memory" });
    const hybrid = fakeRoot({ "unified/cgroup.controllers": "hugetlb", "unified/cgroup.subtree_control": "", "cpu/cpu.shares": "1024", "cpu/cpu.cfs_quota_us": "-1" });
    const none = fakeRoot({ "unified/cgroup.controllers": "hugetlb", "unified/cgroup.subtree_control": "" });
    roots.push(v2, v2off, hybrid, none);
    assert.deepEqual(findCpuController(v2), { kind: "cgroup2", base: v2 });
    const off = findCpuController(v2off);
    assert.equal(off.kind, "none");
    assert.match((off as { reason: string }).reason, /does not enable cpu for child groups/);
    assert.deepEqual(findCpuController(hybrid), { kind: "cgroup1", base: join(hybrid, "cpu") });
    const n = findCpuController(none);
    assert.equal(n.kind, "none");
    assert.match((n as { reason: string }).reason, /has no cpu controller \(controllers: hugetlb\).*no cgroup v1 cpu controller/);

    const g = HostCgroups.create("etp-test-1", ["host-1", "host-2"], 0.5, v2);
    assert.equal(g.isolation.kind, "cgroup2");
    assert.equal(readFileSync(join(v2, "etp-test-1", "cgroup.subtree_control"), "utf8"), "+cpu");
    assert.equal(readFileSync(join(v2, "etp-test-1", "host-2", "cpu.max"), "utf8"), "50000 100000");
    assert.equal(readFileSync(join(v2, "etp-test-1", "host-2", "cpu.weight"), "utf8"), "100");
    assert.match(g.isolation.detail, /cgroup v2 .* cpu\.max 50000 100000 \(at most 0\.5 core\(s\) per host\)/);

    const g1 = HostCgroups.create("etp-test-2", ["host-1"], null, hybrid);
    assert.equal(readFileSync(join(hybrid, "cpu", "etp-test-2", "host-1", "cpu.cfs_quota_us"), "utf8"), "-1");
    assert.equal(readFileSync(join(hybrid, "cpu", "etp-test-2", "host-1", "cpu.shares"), "utf8"), "1024");
    assert.match(g1.isolation.detail, /equal shares, no cap/);

    const g0 = HostCgroups.create("etp-test-3", ["host-1"], null, none);
    assert.equal(g0.isolation.kind, "none");
    assert.match(g0.isolation.detail, /^none: /);
    assert.throws(() => HostCgroups.create("etp-test-4", ["host-1"], 1, none), /cannot cap each host at 1 cores/);
  } finally {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  }
});

const real = findCpuController();
const canWrite = real.kind !== "none" && typeof process.getuid === "function" && process.getuid() === 0;

test("on this machine's controller: a process joins its host's group, the cap is in force, and the groups go away", { skip: canWrite ? false : `no writable cpu cgroup controller here (${real.kind === "none" ? real.reason : "not root"})` }, async () => {
  const tag = `etp-${process.pid.toString(36)}-99`;
  const g = HostCgroups.create(tag, ["host-1", "host-2"], 0.25);
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    g.add("host-1", child.pid!);
    assert.deepEqual(g.pids("host-1"), [child.pid]);
    assert.deepEqual(g.pids("host-2"), []);
    assert.match(readFileSync(`/proc/${child.pid}/cgroup`, "utf8"), new RegExp(`/${tag}/host-1$`, "m"));
    const dir = join((real as { base: string }).base, tag, "host-1");
    if (real.kind === "cgroup1") assert.equal(readFileSync(join(dir, "cpu.cfs_quota_us"), "utf8").trim(), "25000");
    else assert.equal(readFileSync(join(dir, "cpu.max"), "utf8").trim(), "25000 100000");
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
  }
  let left = g.destroy();
  for (let i = 0; i < 20 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 50));
    left = g.destroy();
  }
  assert.deepEqual(g.leftovers(), []);
  assert.equal(existsSync(join((real as { base: string }).base, tag)), false);
});

test("a group still busy at the first destroy is removed by the next one (the lab's teardown retries)", { skip: canWrite ? false : `no writable cpu cgroup controller here (${real.kind === "none" ? real.reason : "not root"})` }, async () => {
  const tag = `etp-${process.pid.toString(36)}-98`;
  const g = HostCgroups.create(tag, ["host-1", "host-2"], null);
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    g.add("host-1", child.pid!);
    // A member still exiting when the lab is torn down: its group (and so the lab's) cannot go yet.
    const busy = g.destroy();
    assert.deepEqual(busy.map((d) => d.slice(d.lastIndexOf(tag))).sort(), [tag, `${tag}/host-1`]);
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
  }
  let left = g.destroy();
  for (let i = 0; i < 20 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 50));
    left = g.destroy();
  }
  assert.deepEqual(g.leftovers(), [], "the retry removed what the first destroy could not");
  assert.equal(existsSync(join((real as { base: string }).base, tag)), false);
});
