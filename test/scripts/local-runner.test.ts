/**
 * The local runner against real etcd (3.4 on PATH): a 3-member cluster up, a put/get, the leader
 * killed and another elected, the old leader started again, then down and proof nothing is left
 * (no recorded PID alive, no port of the cluster accepting connections, no directory). Plus the
 * CLI in a separate process (the cluster outlives the command that started it): TLS by default
 * (https endpoints, the printed etcdctl line with --cacert/--cert/--key works as printed, a client
 * without a certificate is refused), --insecure says the cluster is plaintext; and refusals.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { Etcd3 } from "etcd3";
import { LocalCluster } from "../../ansible-free-scripts/local/cluster.js";
import { which } from "../../ansible-free-scripts/common/paths.js";
import { parseUnit } from "../../topology/systemd-unit.js";
import { parseEnvFile } from "../../server/config/render.js";
import { parseConfig } from "../../server/config/parse.js";
import { etcdctl, etcdctlFromLine } from "../support/etcdctl.js";

const haveEtcd = which("etcd") !== undefined;
const skip = haveEtcd ? false : "no etcd binary on PATH (CI installs etcd-server)";

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** true if something accepts a TCP connection on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.setTimeout(1000);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z";
  } catch {
    return false;
  }
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("local runner with real etcd", { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), "etcdkit-local-test-"));
  after(() => rmSync(root, { recursive: true, force: true }));

  test("3 members: put/get, leader killed and replaced, restarted, down leaves nothing", { timeout: 90_000 }, async () => {
    const dir = join(root, "three");
    const progress: string[] = [];
    const c = await LocalCluster.up({ insecure: true, members: 3, server: "etcd", dir, name: "lr-three", onProgress: (m) => progress.push(m) });
    const pids = new Set<number>();
    const ports = c.members.flatMap((m) => [portOf(m.clientUrl), portOf(m.peerUrl)]);
    let downDone = false;
    try {
      assert.equal(c.members.length, 3);
      assert.deepEqual(c.members.map((m) => m.name), ["etcd-1", "etcd-2", "etcd-3"]);
      assert.equal(new Set(ports).size, 6, "six distinct ports");
      for (const m of c.members) {
        assert.ok(m.running && m.pid, `${m.name} running`);
        pids.add(m.pid!);
        // The member was started from its unit and env file: both exist and agree with the model.
        const unit = parseUnit(readFileSync(m.unitFile, "utf8"));
        assert.deepEqual(unit.environmentFiles, [m.envFile]);
        assert.equal(unit.execStart[0], which("etcd"));
        const cfg = parseConfig([], parseEnvFile(readFileSync(m.envFile, "utf8"))).config;
        assert.equal(cfg.name, m.name);
        assert.deepEqual(cfg.listenClientUrls, [m.clientUrl]);
        assert.equal(cfg.initialCluster.length, 3);
        assert.ok(readFileSync(`/proc/${m.pid}/environ`, "utf8").split("\0").includes(`ETCD_NAME=${m.name}`), "env from the env file");
      }
      assert.ok(progress.some((p) => p.includes("all members healthy")));

      const client = new Etcd3({ hosts: [c.members[1]!.clientUrl] });
      try {
        await client.put("etcdkit/local").value("works");
        assert.equal(await client.get("etcdkit/local").string(), "works");
      } finally {
        client.close();
      }

      const first = await until(() => c.leader(), 10_000, "a leader");
      await c.kill(first);
      assert.equal(c.members.find((m) => m.name === first)!.running, false);
      const second = await until(async () => {
        const l = await c.leader();
        return l !== undefined && l !== first ? l : undefined;
      }, 20_000, "a new leader");
      assert.notEqual(second, first);

      await c.start(first);
      await c.waitHealthy(undefined, 20_000);
      const restarted = c.members.find((m) => m.name === first)!;
      assert.ok(restarted.running && restarted.pid);
      pids.add(restarted.pid!);

      // A second handle on the same directory (what a later CLI call does) sees the same members.
      const again = await LocalCluster.attach(dir);
      assert.deepEqual(again.members.map((m) => m.pid), c.members.map((m) => m.pid));

      // The data written before the failover survived it.
      const client2 = new Etcd3({ hosts: [restarted.clientUrl] });
      try {
        assert.equal(await client2.get("etcdkit/local").string(), "works");
      } finally {
        client2.close();
      }

      await again.down();
      downDone = true;
    } finally {
      if (!downDone) await c.down().catch(() => {});
    }
    for (const pid of pids) assert.equal(pidAlive(pid), false, `pid ${pid} is gone`);
    for (const port of ports) assert.equal(await accepts(port), false, `nothing listens on 127.0.0.1:${port}`);
    assert.equal(existsSync(dir), false, "cluster directory removed");
  });

  describe("CLI in its own process", () => {
    const cli = new URL("../../ansible-free-scripts/local/cli.js", import.meta.url).href;
    const dir = join(root, "cli");
    const run = (...args: string[]) =>
      execa(
        process.execPath,
        [
          ...process.execArgv.filter((a) => !a.startsWith("--test")),
          "--input-type=module",
          "-e",
          `const { main } = await import(${JSON.stringify(cli)}); process.exitCode = await main(JSON.parse(process.argv[1]));`,
          JSON.stringify(args),
        ],
        { reject: false, timeout: 60_000 },
      );
    let pid: number | undefined;
    after(async () => {
      if (existsSync(join(dir, "state.json"))) await (await LocalCluster.attach(dir)).down();
    });

    test("up (TLS by default) prints https endpoints and an etcdctl line that works as printed; the member outlives the command; status, pause, resume, down", { timeout: 90_000 }, async () => {
      const up = await run("up", "--members", "1", "--server", "etcd", "--dir", dir, "--name", "lr-cli");
      assert.equal(up.exitCode, 0, up.stderr + up.stdout);
      assert.match(up.stdout, /endpoints: https:\/\/127\.0\.0\.1:\d+/);
      assert.match(up.stdout, /TLS on client and peer ports/);
      const line = /^(etcdctl --endpoints=127\.0\.0\.1:\d+ --cacert=\S+ --cert=\S+ --key=\S+) endpoint status -w table$/m.exec(up.stdout)?.[1];
      assert.ok(line, up.stdout);
      const put = await etcdctlFromLine(line, ["put", "tls-key", "over-https"]);
      assert.equal(put.code, 0, put.stderr);
      const got = await etcdctlFromLine(line, ["get", "tls-key", "--print-value-only"]);
      assert.equal(got.stdout.trim(), "over-https", got.stderr);
      // Without the client certificate the member refuses the client (client certificates are required).
      const endpoint = /--endpoints=(\S+)/.exec(line)![1]!;
      const ca = /--cacert=(\S+)/.exec(line)![1]!;
      const noCert = await etcdctl(endpoint, ["--cacert", ca, "--dial-timeout=2s", "--command-timeout=3s", "get", "tls-key"]);
      assert.notEqual(noCert.code, 0, noCert.stdout);
      // Plaintext does not reach a TLS member.
      const plain = await etcdctl(`http://${endpoint}`, ["--dial-timeout=2s", "--command-timeout=3s", "get", "tls-key"]);
      assert.notEqual(plain.code, 0, plain.stdout);
      const c = await LocalCluster.attach(dir);
      pid = c.members[0]!.pid;
      assert.ok(pid && pidAlive(pid), "member alive after the CLI exited");

      const status = await run("status", "--dir", dir);
      assert.equal(status.exitCode, 0, status.stderr);
      assert.match(status.stdout, /etcd-1\s+\d+\s+running\s+healthy\s+\*/);

      assert.equal((await run("pause", "etcd-1", "--dir", dir)).exitCode, 0);
      assert.match((await run("status", "--dir", dir)).stdout, /etcd-1\s+\d+\s+paused\s+unhealthy/);
      assert.equal((await run("resume", "etcd-1", "--dir", dir)).exitCode, 0);
      await c.waitHealthy(undefined, 10_000);

      const logs = await run("logs", "etcd-1", "--dir", dir);
      assert.match(logs.stdout, /etcd-1/);

      const help = await run("up", "--help");
      assert.equal(help.exitCode, 0);
      assert.match(help.stdout, /--members N/);

      const down = await run("down", "--dir", dir);
      assert.equal(down.exitCode, 0, down.stderr);
      assert.equal(pidAlive(pid!), false);
      assert.equal(existsSync(dir), false);
    });

    test("--insecure runs plaintext and says so", { timeout: 90_000 }, async () => {
      const up = await run("up", "--members", "1", "--server", "etcd", "--dir", dir, "--name", "lr-cli", "--insecure");
      assert.equal(up.exitCode, 0, up.stderr + up.stdout);
      assert.match(up.stdout, /lr-cli: --insecure: the cluster is PLAINTEXT/);
      assert.match(up.stdout, /endpoints: http:\/\/127\.0\.0\.1:\d+/);
      const line = /^(etcdctl --endpoints=127\.0\.0\.1:\d+) endpoint status -w table$/m.exec(up.stdout)?.[1];
      assert.ok(line, up.stdout);
      assert.equal((await etcdctlFromLine(line, ["put", "k", "v"])).code, 0);
      assert.match((await run("status", "--dir", dir)).stdout, /PLAINTEXT/);
      assert.equal((await run("down", "--dir", dir)).exitCode, 0);
    });
  });

  test("refusals happen before anything is created", async () => {
    const dir = join(root, "bad");
    await assert.rejects(LocalCluster.up({ insecure: true, members: 4 as 3, server: "etcd", dir }), /1, 3, 5 or 7/);
    await assert.rejects(LocalCluster.up({ insecure: true, members: 3, server: "etcd", dir, heartbeatMs: 500, electionMs: 1000 }), /at least 5 times/);
    await assert.rejects(LocalCluster.up({ insecure: true, members: 1, server: "/nonexistent/etcd", dir }), /not an executable/);
    assert.equal(existsSync(dir), false);
    // A directory that is not a cluster's is never wiped.
    const foreign = join(root, "foreign");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "precious.txt"), "keep me");
    await assert.rejects(LocalCluster.up({ insecure: true, members: 1, server: "etcd", dir: foreign }), /holds no etcdkit cluster/);
    assert.equal(readFileSync(join(foreign, "precious.txt"), "utf8"), "keep me");
  });
});

before(() => {
  if (skip) console.log(`# skipping the local runner tests: ${skip}`);
});
