/**
 * The network lab itself (ansible-free-scripts/hosts/netns.ts, partition.ts): hosts reach each other and the test
 * process; a cut stops one pair and nothing else; heal restores it and leaves no rule; destroy
 * leaves no namespace, interface or process; a lab left by a dead process is removed by the next.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { connect } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labUnavailable, NetLab, removeStaleLabs, type LabHost } from "../../ansible-free-scripts/hosts/netns.js";
import { Partitions } from "../../ansible-free-scripts/hosts/partition.js";

const unavailable = labUnavailable();
const PORT = 7070;
const SERVER = `require("net").createServer((s) => s.end("hi")).listen(${PORT}, process.argv[1])`;
const CLIENT = `const s = require("net").connect(${PORT}, process.argv[1]); s.setTimeout(700, () => { console.log("timeout"); process.exit(0); }); s.on("data", (d) => { console.log(String(d)); process.exit(0); }); s.on("error", (e) => { console.log(e.code); process.exit(0); });`;

/** What a client in `from` gets from the server on `to`: "hi", "timeout" or an error code. */
function probe(lab: NetLab, from: LabHost, to: LabHost): string {
  return lab.exec(from, process.execPath, ["-e", CLIENT, to.addr]).trim();
}

function fromTestProcess(addr: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(PORT, addr);
    s.setTimeout(2000, () => {
      s.destroy();
      resolve("timeout");
    });
    s.on("data", (d) => {
      s.destroy();
      resolve(String(d));
    });
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
  });
}

/** The process's state letter from /proc (Z: a zombie, killed but not reaped), "" if it is gone. */
function procState(pid: number): string {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "";
  } catch {
    return "";
  }
}

async function serving(lab: NetLab, h: LabHost): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await fromTestProcess(h.addr)) === "hi") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no server on ${h.name}`);
}

describe("network lab (namespaces, bridge, cuts)", { skip: unavailable ? `skipped: ${unavailable}` : false, timeout: 60_000 }, () => {
  test("connectivity, cuts, heals, and a complete teardown", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etp-lab-"));
    const lab = NetLab.create(["a", "b", "c"]);
    const [a, b, c] = lab.hosts as [LabHost, LabHost, LabHost];
    let pids: number[] = [];
    try {
      assert.notEqual(new Set(lab.hosts.map((h) => h.addr)).size, 1);
      assert.match(a.addr, /^10\.213\.\d+\.\d+$/);
      const procs = lab.hosts.map((h) => lab.spawn(h, process.execPath, ["-e", SERVER, h.addr], { logFile: join(dir, `${h.name}.log`) }));
      pids = procs.map((p) => p.pid);
      for (const h of lab.hosts) await serving(lab, h);
      assert.equal(probe(lab, a, b), "hi");

      const parts = new Partitions(lab);
      parts.isolate("a");
      assert.equal(probe(lab, a, b), "timeout", "a cannot reach b");
      assert.equal(probe(lab, b, a), "timeout", "b cannot reach a");
      assert.equal(probe(lab, b, c), "hi", "b and c are not affected");
      assert.equal(await fromTestProcess(a.addr), "hi", "the test process still reaches the isolated host");
      parts.healAll();
      assert.equal(probe(lab, b, a), "hi");
      parts.cutOneWay("b", "c");
      assert.match(parts.rulesOf(b), /drop/);
      assert.doesNotMatch(parts.rulesOf(c), /drop/);
      assert.equal(probe(lab, b, c), "timeout");
      parts.healAll();
      for (const h of lab.hosts) assert.doesNotMatch(parts.rulesOf(h), /drop/i, `no rule left on ${h.name}`);
      assert.equal(probe(lab, b, c), "hi");
    } finally {
      await lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(lab.leftovers(), []);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), "every process the lab started is gone");
  });

  test("a lab whose creator died is removed by the next one, with the processes inside it", async () => {
    // a namespace named as a lab of a PID that does not exist, with a process inside
    let dead = 4_000_000;
    while (dead > 1000) {
      try {
        process.kill(dead, 0);
        dead--;
      } catch {
        break;
      }
    }
    const ns = `etp-${dead.toString(36)}-1-x`;
    execFileSync("ip", ["netns", "add", ns]);
    const sleeper = execFileSync("ip", ["netns", "exec", ns, "sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"], { encoding: "utf8" }).trim();
    removeStaleLabs();
    assert.doesNotMatch(execFileSync("ip", ["netns", "list"], { encoding: "utf8" }), new RegExp(`^${ns}\\b`, "m"));
    // killed; once its (new) parent has reaped it, it is gone
    for (let i = 0; i < 100 && !/Z|^$/.test(procState(Number(sleeper))); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(procState(Number(sleeper)), /Z|^$/, "the process inside it was killed");
  });
});

if (unavailable) console.log(`# network lab tests skipped: ${unavailable}`);
