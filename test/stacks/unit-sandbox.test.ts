/**
 * The sandboxed units really run: systemd (this machine's own, booted by systemd-nspawn in an
 * overlay of / with a throw-away tmpfs upper layer, inside a private mount namespace) starts an
 * etcd-ts member and an etcd member from units rendered by renderUnit, with every hardening
 * option. Checks: both reach "active" (Type=notify: READY=1 got through), /health, put/get, the
 * member runs as the service user with NoNewPrivs, seccomp, no capabilities, UMask 0077 and a
 * read-only root; kill -9 → Restart=always brings it back with its data; and the exposure score
 * `systemd-analyze security` gives; the scheduled backup's service (etcdkit backup, same sandbox,
 * only its backup dir writable) saves a verified snapshot of the etcd-ts member; the auth service
 * (etcdkit auth apply, same sandbox, nothing writable, passwords only through LoadCredential= from
 * root's 0600 files) enables auth on the etcd member, and a second start changes nothing. Skipped (with the reason) where nspawn cannot run (not root,
 * no systemd-container, no overlayfs).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { Etcd3 } from "etcd3";
import { toEnvFile } from "../../server/config/render.js";
import { authCredentialDirCommand, backupDirCommand, passwordCredential, planTopology, renderAuthService, renderBackupService, renderBackupTimer, renderUnit, type AuthUnitSpec, type BackupTimerSpec } from "../../topology/index.js";
import { loadAuthFile } from "../../ansible-free-scripts/auth/auth-file.js";
import { retargetAuthFile } from "../../ansible-free-scripts/auth/auth-target.js";
import { etcdctl } from "../support/etcdctl.js";
import { which } from "../../ansible-free-scripts/common/paths.js";
import { packageRoot } from "../../server/util/package-root.js";
import { freePort } from "../support/ports.js";

function why(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (mount namespaces, overlayfs, nspawn)";
  if (!which("etcd")) return "no etcd binary on PATH";
  if (!existsSync(join(packageRoot(), "dist", "server", "main.js"))) return "etcd-ts is not built";
  if (!which("systemd-nspawn")) {
    spawnSync("sh", ["-c", "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq systemd-container >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq systemd-container >/dev/null 2>&1)"], { timeout: 300_000 });
    if (!which("systemd-nspawn")) return "systemd-nspawn is missing and Debian's systemd-container could not be installed";
  }
  const probe = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs t $d && mkdir $d/u $d/w $d/m && mount -t overlay o -o lowerdir=/,upperdir=$d/u,workdir=$d/w $d/m"], { encoding: "utf8" });
  if (probe.status !== 0) return `no overlay of / in a private mount namespace here: ${probe.stderr.trim()}`;
  return undefined;
}

const skip = why() ?? false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("hardened units under a real systemd (nspawn)", { skip, timeout: 300_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), "etcdkit-sandbox-"));
  const stage = join(tmp, "stage");
  let nspawn: ResultPromise | undefined;
  let leader = 0;
  const members: { name: string; unit: string; port: number; dataDir: string }[] = [];
  let backup: BackupTimerSpec;
  let auth: AuthUnitSpec;
  const ROOT_PW = "sbx-root-Secret-77aa";
  const SVC_PW = "sbx-svc-Secret-19cf";

  /** Runs a command inside the container (all its namespaces). */
  const inside = (cmd: string) => spawnSync("nsenter", ["-t", String(leader), "-a", "sh", "-c", cmd], { encoding: "utf8", timeout: 60_000 });

  before(async () => {
    mkdirSync(join(stage, "etc", "systemd", "system"), { recursive: true });
    mkdirSync(join(stage, "etc", "etcdkit"), { recursive: true });
    for (const [name, server] of [["etcd-1", "etcd-ts"], ["etcd-2", "etcd"]] as const) {
      const port = await freePort();
      const peer = await freePort();
      // Plaintext: this checks the unit's sandbox, and the container has no certificates to read (the
      // certificate folder's place under the sandbox is checked by the SSH deploy's sandboxConflicts).
      const plan = planTopology({ size: 1, target: "hosts", stackName: `sandbox-${name}`, hosts: [{ address: "127.0.0.1", name, clientPort: port, peerPort: peer }], dataDirRoot: "/var/lib/etcdkit-sandbox", insecure: true });
      const m = plan.members[0]!;
      const execStart = server === "etcd-ts" ? [process.execPath, join(packageRoot(), "bin", "etcd-ts.js")] : [which("etcd")!];
      const unit = `etcdkit-${name}.service`;
      writeFileSync(join(stage, "etc", "etcdkit", `${name}.env`), toEnvFile(m.config));
      writeFileSync(join(stage, "etc", "systemd", "system", unit), renderUnit({ memberName: name, user: "etcdkit-sbx", envFile: `/etc/etcdkit/${name}.env`, execStart, writablePaths: [m.config.dataDir] }));
      members.push({ name, unit, port, dataDir: m.config.dataDir });
    }
    backup = {
      cluster: "sandbox",
      user: "etcdkit-sbx",
      nodePath: process.execPath,
      appDir: packageRoot(),
      endpoints: [`http://127.0.0.1:${members[0]!.port}`],
      backupDir: "/var/backups/etcdkit-sbx/sandbox",
      schedule: "hourly",
      keep: 2,
    };
    writeFileSync(join(stage, "etc", "systemd", "system", "etcdkit-backup-sandbox.service"), renderBackupService(backup));
    writeFileSync(join(stage, "etc", "systemd", "system", "etcdkit-backup-sandbox.timer"), renderBackupTimer(backup));
    // auth on the etcd member (the etcd-ts one serves the backup, which would then need root's password)
    writeFileSync(join(tmp, "auth.yaml"), "users:\n  root: { passwordEnv: X, roles: [root] }\n  svc: { passwordFile: svc.pw, roles: [svc] }\nroles:\n  svc: { permissions: [{ key: /svc/, prefix: true, type: readwrite }] }\n");
    auth = {
      cluster: "sandbox",
      user: "etcdkit-sbx",
      nodePath: process.execPath,
      appDir: packageRoot(),
      endpoints: [`http://127.0.0.1:${members[1]!.port}`],
      credentialDir: "/etc/etcdkit/auth-sandbox",
      users: ["root", "svc"],
      memberUnit: members[1]!.unit,
      waitSeconds: 60,
    };
    writeFileSync(join(stage, "etc", "systemd", "system", "etcdkit-auth-sandbox.service"), renderAuthService(auth));
    mkdirSync(join(stage, "etc", "etcdkit", "auth-sandbox"), { recursive: true });
    writeFileSync(join(stage, "etc", "etcdkit", "auth-sandbox", "auth.yaml"), retargetAuthFile(loadAuthFile(join(tmp, "auth.yaml")), (u) => ({ file: passwordCredential(u) })));
    writeFileSync(join(stage, "etc", "etcdkit", "auth-sandbox", passwordCredential("root")), `${ROOT_PW}\n`);
    writeFileSync(join(stage, "etc", "etcdkit", "auth-sandbox", passwordCredential("svc")), SVC_PW);
    writeFileSync(
      join(stage, "etc", "systemd", "system", "etcdkit-test.target"),
      `[Unit]\nDescription=etcdkit sandbox check\nRequires=basic.target\nAfter=basic.target\nWants=${members.map((m) => m.unit).join(" ")}\n`,
    );
    // The container shares this machine's network (members on 127.0.0.1, free ports); everything
    // else is its own: a tmpfs over /run and an overlay of / whose writes vanish with the namespace.
    const script = join(tmp, "boot.sh");
    writeFileSync(
      script,
      [
        "set -eu",
        "mount -t tmpfs tmpfs /run",
        `R=${tmp}/root`,
        "mkdir -p $R && mount -t tmpfs tmpfs $R && mkdir -p $R/upper $R/work $R/merged",
        "mount -t overlay overlay -o lowerdir=/,upperdir=$R/upper,workdir=$R/work $R/merged",
        `cp -r ${stage}/etc/. $R/merged/etc/`,
        `chroot $R/merged sh -c 'useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin etcdkit-sbx; ${members.map((m) => `mkdir -p ${m.dataDir} && chown etcdkit-sbx:etcdkit-sbx ${m.dataDir} && chmod 700 ${m.dataDir}`).join("; ")}; ${backupDirCommand(backup)}; chown root:root /etc/etcdkit/auth-sandbox/* && chmod 0600 /etc/etcdkit/auth-sandbox/* && ${authCredentialDirCommand(auth)}'`,
        ": > $R/merged/etc/machine-id",
        `exec systemd-nspawn -q -D $R/merged --register=no --keep-unit --bind-ro=${packageRoot()} --boot -- systemd.unit=etcdkit-test.target`,
      ].join("\n"),
    );
    chmodSync(script, 0o755);
    nspawn = execa("unshare", ["-m", "--propagation", "private", script], { reject: false, stdin: "ignore", stdout: "ignore", stderr: "pipe", cleanup: true });
    // The script execs nspawn (same pid); the container's init is then nspawn's child named systemd.
    const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8").trim() : "");
    for (let i = 0; i < 600 && !leader; i++) {
      await sleep(100);
      if (read(`/proc/${nspawn.pid}/comm`) !== "systemd-nspawn") continue;
      const init = read(`/proc/${nspawn.pid}/task/${nspawn.pid}/children`).split(" ").find((p) => p && read(`/proc/${p}/comm`) === "systemd");
      if (init) leader = Number(init);
    }
    assert.ok(leader > 0, `the container's systemd started (${nspawn.exitCode ?? "running"})`);
  });

  after(async () => {
    if (nspawn?.pid) {
      try {
        process.kill(nspawn.pid, "SIGTERM"); // nspawn halts the container
      } catch {
        /* gone */
      }
      // the bound's timer is cleared once nspawn is gone: a pending 30 s timer kept the file's process up
      let bound: NodeJS.Timeout | undefined;
      const done = await Promise.race([nspawn.then(() => true), new Promise<false>((r) => (bound = setTimeout(() => r(false), 30_000)))]);
      clearTimeout(bound);
      if (!done) process.kill(nspawn.pid, "SIGKILL");
      await nspawn.catch(() => {});
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  const waitActive = async (unit: string, ms: number) => {
    const deadline = Date.now() + ms;
    let state = "";
    while (Date.now() < deadline) {
      state = inside(`systemctl is-active ${unit}`).stdout.trim();
      if (state === "active") return;
      await sleep(500);
    }
    const journal = inside(`journalctl -u ${unit} --no-pager | tail -n 30`);
    assert.fail(`${unit} is ${state}:\n${journal.stdout}${journal.stderr}`);
  };

  test("etcd-ts and etcd start, report ready and serve under the full sandbox", async () => {
    for (const m of members) await waitActive(m.unit, 120_000);
    for (const m of members) {
      const client = new Etcd3({ hosts: `http://127.0.0.1:${m.port}` });
      try {
        await client.put("sandbox").value(m.name);
        assert.equal(await client.get("sandbox").string(), m.name);
      } finally {
        client.close();
      }
      const health = (await (await fetch(`http://127.0.0.1:${m.port}/health`)).json()) as { health: string };
      assert.equal(health.health, "true");
    }
  });

  test("the backup timer's service saves a verified snapshot of the etcd-ts member under the same sandbox", () => {
    const r = inside("systemctl enable --now etcdkit-backup-sandbox.timer && systemctl start etcdkit-backup-sandbox.service; echo rc=$?");
    const journal = () => inside("journalctl -u etcdkit-backup-sandbox.service --no-pager | tail -n 30").stdout;
    assert.match(r.stdout, /rc=0/, `${r.stdout}${r.stderr}\n${journal()}`);
    assert.equal(inside("systemctl is-active etcdkit-backup-sandbox.timer").stdout.trim(), "active");
    const files = inside(`ls -n ${backup.backupDir}`).stdout;
    assert.match(files, /sandbox-\d{8}T\d{9}Z\.db/, `${files}\n${journal()}`);
    assert.match(files, /sandbox-\d{8}T\d{9}Z\.json/);
    const uid = inside("id -u etcdkit-sbx").stdout.trim();
    assert.ok(files.split("\n").filter((l) => /\.(db|json)$/.test(l)).every((l) => l.split(/\s+/)[2] === uid), `owned by the service user:\n${files}`);
    const sidecar = JSON.parse(inside(`cat ${backup.backupDir}/*.json`).stdout) as { format: string; revision: number };
    assert.equal(sidecar.format, "etcd-ts");
    assert.ok(sidecar.revision >= 2, `the put is in the backup (revision ${sidecar.revision})`);
    assert.match(journal(), /sha256 [0-9a-f]{64} verified/);
  });

  test("the member runs as the service user: no privileges, seccomp, UMask 0077, read-only root", () => {
    for (const m of members) {
      const pid = inside(`systemctl show -p MainPID --value ${m.unit}`).stdout.trim();
      const status = inside(`cat /proc/${pid}/status`).stdout;
      const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, "m").exec(status)?.[1]?.trim();
      assert.equal(field("Uid")!.split(/\s+/)[0], inside("id -u etcdkit-sbx").stdout.trim(), `${m.name} runs as etcdkit-sbx`);
      assert.equal(field("NoNewPrivs"), "1");
      assert.equal(field("Seccomp"), "2");
      assert.equal(field("CapEff"), "0000000000000000");
      assert.equal(field("CapBnd"), "0000000000000000");
      assert.equal(field("Umask"), "0077");
      // mountinfo: id parent dev root MOUNTPOINT OPTIONS ...; the last entry for a mount point wins.
      const mounts = inside(`cat /proc/${pid}/mountinfo`).stdout.split("\n").map((l) => l.split(" "));
      const optionsOf = (point: string) => mounts.filter((f) => f[4] === point).pop()?.[5]?.split(",") ?? [];
      assert.ok(optionsOf("/").includes("ro"), `/ is read-only for ${m.name}: ${optionsOf("/").join(",")}`);
      assert.ok(optionsOf(m.dataDir).includes("rw"), `its data dir is writable: ${optionsOf(m.dataDir).join(",")}`);
      assert.ok(optionsOf("/etc").length === 0 || optionsOf("/etc").includes("ro"));
    }
  });

  test("kill -9: Restart=always brings etcd-ts back with its data", async () => {
    const m = members[0]!;
    const pid = inside(`systemctl show -p MainPID --value ${m.unit}`).stdout.trim();
    inside(`kill -9 ${pid}`);
    for (let i = 0; i < 100 && inside(`systemctl show -p MainPID --value ${m.unit}`).stdout.trim() === pid; i++) await sleep(100);
    await waitActive(m.unit, 60_000);
    const client = new Etcd3({ hosts: `http://127.0.0.1:${m.port}` });
    try {
      assert.equal(await client.get("sandbox").string(), m.name);
    } finally {
      client.close();
    }
  });

  test("the auth service reads its passwords as credentials and enables auth on the etcd member; a second start changes nothing", async () => {
    const journal = () => inside("journalctl -u etcdkit-auth-sandbox.service --no-pager -o cat | tail -n 30").stdout;
    const r = inside("systemctl start etcdkit-auth-sandbox.service; echo rc=$?");
    assert.match(r.stdout, /rc=0/, `${r.stdout}${r.stderr}\n${journal()}`);
    assert.match(journal(), /^auth: enable authentication$/m);
    // the password files stay root's; the service user cannot read them
    assert.match(inside("su -s /bin/sh etcdkit-sbx -c 'cat /etc/etcdkit/auth-sandbox/root.password' 2>&1; echo rc=$?").stdout, /Permission denied[\s\S]*rc=1/);
    const url = `http://127.0.0.1:${members[1]!.port}`;
    assert.match((await etcdctl(url, ["put", "/svc/a", "1"])).stderr, /user name is empty/);
    assert.equal((await etcdctl(url, ["--user", `svc:${SVC_PW}`, "put", "/svc/a", "1"])).code, 0);
    const again = inside("systemctl start etcdkit-auth-sandbox.service; echo rc=$?");
    assert.match(again.stdout, /rc=0/, journal());
    assert.match(journal(), /auth: nothing to change/);
  });

  test("systemd-analyze security rates the unit OK", () => {
    const out = inside(`systemd-analyze security --no-pager ${members[0]!.unit} | tail -n 1`).stdout;
    const score = Number(/exposure level for \S+: ([0-9.]+)/.exec(out)?.[1]);
    console.log(`# systemd-analyze security ${members[0]!.unit}: ${out.trim()}`);
    assert.ok(score > 0 && score < 2.5, out);
  });
});

before(() => {
  if (skip) console.log(`# skipping the systemd sandbox test: ${skip}`);
});
