/**
 * The second wall: the remote scripts quote every value even when validation is bypassed. Each
 * script builder gets cluster settings full of shell metacharacters (paths with quotes, $(...),
 * backticks, ';', '|', '&', '*', spaces, a leading '-'), and the scripts are run for real with sh
 * in a sandbox directory (this machine has no running systemd, so they take the supervisor path).
 * Nothing may create the canary; every file lands at exactly the hostile path it was given.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterSettings } from "../../ansible-free-scripts/ssh/inventory.js";
import { deployScript, preflightScript, prepareScript, restartScript, statusScript, teardownScript, unpackBundleScript } from "../../ansible-free-scripts/ssh/scripts.js";
import { heredocDelimiter, sh, shq } from "../../ansible-free-scripts/common/shell.js";
import { sandboxConflicts } from "../../ansible-free-scripts/ssh/deploy.js";

const sandbox = mkdtempSync(join(tmpdir(), "etcdkit-quoting-"));
const canary = join(sandbox, "canary");
after(() => rmSync(sandbox, { recursive: true, force: true }));

/**
 * A directory name that runs `touch canary` in every way a shell could be tricked into it (a
 * relative canary: a file name cannot hold '/', and the scripts run from the sandbox).
 */
const evil = (tag: string) => `${tag} '$(touch canary)' "\`touch canary\`" ;touch canary; |touch canary && touch canary * -rf $HOME %n`;
const root = join(sandbox, "root");
const settings = (over: Partial<ClusterSettings> = {}): ClusterSettings => ({
  name: "q",
  server: "etcd",
  deployDir: join(root, evil("deploy")),
  envDir: join(root, evil("env")),
  dataDir: join(root, evil("data")),
  unitDir: join(root, evil("units")),
  user: "root",
  nodePath: join(root, evil("node")),
  etcdPath: "/bin/sleep",
  serviceManager: "supervisor",
  sudo: false,
  healthTimeoutMs: 1000,
  insecure: false,
  pkiDir: join(sandbox, "pki"),
  certDir: join(root, evil("certs")),
  ...over,
});

/** Runs a script as the deploy would (sh -s, script on stdin), from inside the sandbox. */
function run(script: string): { status: number | null; out: string } {
  const r = spawnSync("sh", ["-s"], { input: script, cwd: sandbox, encoding: "utf8", timeout: 60_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: sandbox } });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe("scripts built from unvalidated hostile settings evaluate nothing", () => {
  mkdirSync(root, { recursive: true });
  const c = settings();
  const member = {
    name: "etcd-1",
    envFile: join(c.envDir, "etcd-1.env"),
    envText: "ETCD_NAME=etcd-1\n",
    // A unit the supervisor accepts: it runs sleep, so the service step really starts something.
    unitText: "[Service]\nUser=root\nExecStart=/bin/sleep 60\nUMask=0077\nRestartSec=1\n",
    dataDir: join(c.dataDir, "etcd-1"),
    writablePaths: [join(c.dataDir, "etcd-1")],
    tls: {
      dir: join(c.certDir, "etcd-1"),
      files: [
        { path: join(c.certDir, "etcd-1", "ca.crt"), text: "-----BEGIN CERTIFICATE-----\nCA\n", private: false },
        { path: join(c.certDir, "etcd-1", "server.key"), text: "-----BEGIN PRIVATE KEY-----\n$(touch canary)\n", private: true },
      ],
    },
  };

  test("preflight, prepare, deploy, status, restart, teardown", () => {
    const pre = run(preflightScript(c));
    assert.equal(pre.status, 0, pre.out);
    assert.match(pre.out, /^mode=supervisor$/m);
    assert.ok(pre.out.includes(`missing=${c.nodePath}`) || pre.out.includes("server=ok"), pre.out);

    assert.equal(run(prepareScript(c)).status, 0);
    assert.ok(existsSync(c.deployDir), "the deploy dir is exactly the hostile path");

    const dep = run(deployScript(c, [member], false));
    assert.equal(dep.status, 0, dep.out);
    assert.equal(readFileSync(member.envFile, "utf8"), member.envText, "env file at its hostile path");
    assert.ok(existsSync(join(c.deployDir, "units", "etcdkit-etcd-1.service")));
    assert.ok(existsSync(member.dataDir));
    // Certificates: a private folder, the key 0600 (and its text kept out of the printed script), the CA 0644.
    assert.equal(statSync(member.tls.dir).mode & 0o777, 0o700);
    assert.equal(statSync(member.tls.files[1]!.path).mode & 0o777, 0o600);
    assert.equal(statSync(member.tls.files[0]!.path).mode & 0o777, 0o644);
    assert.equal(readFileSync(member.tls.files[1]!.path, "utf8"), member.tls.files[1]!.text);
    assert.equal(deployScript(c, [member], false).includes("BEGIN PRIVATE KEY"), false, "a key's text is not shown in the script");
    const pid = Number(readFileSync(join(c.deployDir, "run", "etcd-1.pid"), "utf8"));
    assert.ok(pid > 0 && existsSync(`/proc/${pid}`), "the supervisor started the member");

    const st = run(statusScript(c, ["etcd-1"]));
    assert.match(st.out, /^etcd-1=active pid=\d+$/m, st.out);
    const rs = run(restartScript(c, "etcd-1"));
    assert.equal(rs.status, 0, rs.out);

    const td = run(teardownScript(c, [member]));
    assert.equal(td.status, 0, td.out);
    assert.equal(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z"), false, "member stopped");
    for (const d of [c.deployDir, c.envDir, c.dataDir, c.certDir]) assert.equal(existsSync(d), false, `${d} removed`);
    assert.deepEqual(readdirSync(root), [], "nothing else was created or left");
    assert.equal(existsSync(canary), false, "a hostile value was evaluated");
  });

  test("unpacking the bundle", () => {
    const tarball = join(root, evil("bundle") + ".tgz");
    mkdirSync(join(sandbox, "b"), { recursive: true });
    writeFileSync(join(sandbox, "b", "hello"), "hi");
    spawnSync("tar", ["-czf", tarball, "-C", join(sandbox, "b"), "hello"]);
    const r = run(unpackBundleScript(c, tarball, "id $(touch canary) `touch canary`"));
    assert.equal(r.status, 0, r.out);
    assert.equal(readFileSync(join(c.deployDir, "app", "hello"), "utf8"), "hi");
    assert.equal(readFileSync(join(c.deployDir, "app", ".bundle-id"), "utf8"), "id $(touch canary) `touch canary`\n");
    assert.equal(existsSync(tarball), false);
    rmSync(c.deployDir, { recursive: true, force: true });
    assert.equal(existsSync(canary), false);
  });

  test("a hostile service user or service manager is refused by the tools, not run", () => {
    for (const over of [{ user: `x$(touch canary)` }, { user: `-o;touch canary` }, { serviceManager: `auto$(touch canary)` as never }]) {
      const bad = settings(over);
      run(preflightScript(bad));
      run(deployScript(bad, [], false));
      run(teardownScript(bad, []));
    }
    assert.equal(existsSync(canary), false);
    rmSync(root, { recursive: true, force: true });
  });

  test("a member name that is not a name never reaches the supervisor as a command", () => {
    mkdirSync(root, { recursive: true });
    const r = run(statusScript(c, [`x;touch canary`, `$(touch canary)`]));
    assert.equal(r.status, 0, r.out);
    run(restartScript(c, `-x;touch canary`));
    assert.equal(existsSync(canary), false);
    rmSync(root, { recursive: true, force: true });
  });
});

test("shq/sh: one word per value, no matter what it holds", () => {
  const values = ["", "plain", "a b", "'", "''", `"`, "$(id)", "`id`", "\\", "a\nb", "-rf", "*", "~", "%", "=x", "é ü"];
  const line = sh`printf '[%s]\n' ${values[0]!} ${values[1]!} ${values[2]!} ${values[3]!} ${values[4]!} ${values[5]!} ${values[6]!} ${values[7]!} ${values[8]!} ${values[9]!} ${values[10]!} ${values[11]!} ${values[12]!} ${values[13]!} ${values[14]!} ${values[15]!}`;
  const r = spawnSync("sh", ["-c", line], { encoding: "utf8", cwd: sandbox });
  assert.equal(r.stdout, values.map((v) => `[${v}]\n`).join(""));
  assert.throws(() => shq("a\0b"), /NUL/);
  assert.equal(shq("/opt/etcdkit"), "/opt/etcdkit", "safe words stay readable");
  assert.equal(heredocDelimiter("a\nETCDKIT_SCRIPT\nETCDKIT_SCRIPT_1"), "ETCDKIT_SCRIPT_2");
});

test("preflight: a non-root ssh user cannot run members as another user, and says so", () => {
  const c = settings({ user: "etcd", deployDir: "/nonexistent/etcdkit" });
  const r = spawnSync("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-s"], { input: preflightScript(c), cwd: "/", encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^problem=connected as nobody, not root: members cannot be run as cluster\.user etcd \(use cluster\.sudo, or set cluster\.user to nobody\)$/m);
  const same = spawnSync("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-s"], { input: preflightScript(settings({ user: "nobody" })), cwd: "/", encoding: "utf8" });
  assert.doesNotMatch(same.stdout, /^problem=/m);
});

test("deploy refuses, under systemd, paths the units' sandbox hides from members", () => {
  const base = settings({ deployDir: "/opt/etcdkit", dataDir: "/var/lib/etcdkit", server: "etcd-ts", nodePath: "/usr/bin/node", certDir: "/etc/etcdkit/pki" });
  assert.deepEqual(sandboxConflicts(base), []);
  // The members read their certificates: under /home they could not (plaintext deployments copy none).
  assert.match(sandboxConflicts({ ...base, certDir: "/home/me/pki" }).join("\n"), /cluster\.certDir \/home\/me\/pki is under \/home/);
  assert.deepEqual(sandboxConflicts({ ...base, certDir: "/home/me/pki", insecure: true }), []);
  assert.match(sandboxConflicts({ ...base, dataDir: "/home/me/etcd" }).join("\n"), /cluster\.dataDir \/home\/me\/etcd is under \/home, which the systemd units hide/);
  assert.match(sandboxConflicts({ ...base, deployDir: "/tmp/etcdkit" }).join("\n"), /cluster\.deployDir \/tmp\/etcdkit is under \/tmp/);
  assert.match(sandboxConflicts({ ...base, nodePath: "/root/.nvm/node" }).join("\n"), /cluster\.nodePath/);
  assert.deepEqual(sandboxConflicts({ ...base, server: "etcd", deployDir: "/tmp/etcdkit" }), [], "etcd needs no bundle");
});
