/**
 * Scheduled backups of the Docker stacks (stacks/constructs/backup.ts), synthesized in-process: a
 * `<stack>-backups` volume, a `<stack>-backup` container that Terraform creates but never starts,
 * running `etcdkit backup` over the stack network with the first member's certificate (TLS) or
 * none (plaintext), and the Docker host's service + timer (`docker start -a`), which pass
 * `systemd-analyze verify`. ETCDKIT_DOCKER_BACKUP=off removes all of it. The image ships what the
 * container runs: `bin/etcdkit.js backup` starts from a prepared image app folder alone.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { buildApp } from "../../stacks/app.js";
import { prepareStackPki } from "../../stacks/prepare-pki.js";
import { stagedCertificateDir } from "../../stacks/constructs/docker-tls.js";
import { readStackOptions, type StacksOptions } from "../../stacks/options.js";
import { prepareImageApp } from "../../stacks/image-bundle.js";
import { which } from "../../ansible-free-scripts/common/paths.js";
import { packageRoot } from "../../server/util/package-root.js";

const ROOT = packageRoot();
const PKI_ROOT = mkdtempSync(join(tmpdir(), "etcdkit-backup-pki-"));
after(() => rmSync(PKI_ROOT, { recursive: true, force: true }));
const options = (env: Record<string, string> = {}): StacksOptions =>
  readStackOptions(ROOT, { ETCDKIT_PKI_DIR: PKI_ROOT, ETCDKIT_SIZES: "3", ETCDKIT_K8S_SIZES: "1", ...env });
await prepareStackPki(options(), () => {});

type Json = Record<string, any>;
const resources = (synth: Json, type: string): Json[] => Object.values((synth.resource?.[type] ?? {}) as Record<string, Json>);
const synthOf = (o: StacksOptions) => {
  const { stacks } = buildApp(o, { outdir: mkdtempSync(join(tmpdir(), "etcdkit-backup-synth-")) });
  const stack = stacks.find((s) => s.plan.size === 3)!;
  return { stack, synth: JSON.parse(Testing.synth(stack)) as Json };
};

describe("Docker stack backups", () => {
  test("default (daily): a backups volume and a created-only container running etcdkit backup with the first member's certificate", () => {
    const { stack, synth } = synthOf(options({ ETCDKIT_DOCKER_BACKUP_KEEP: "5", ETCDKIT_DOCKER_BACKUP_MAX_AGE: "30d" }));
    const backup = resources(synth, "docker_container").filter((c) => c.name === "etcd-3-backup");
    assert.equal(backup.length, 1);
    const c = backup[0]!;
    assert.equal(c.start, false, "Terraform never starts it");
    assert.equal(c.must_run, false);
    assert.equal(c.restart, "no");
    assert.equal(c.ports, undefined, "publishes nothing");
    const pki = "/etc/etcdkit/pki/etcd-1";
    assert.deepEqual(c.entrypoint, [
      "node",
      "/app/bin/etcdkit.js",
      "backup",
      `--endpoints=${stack.plan.members.map((m) => `https://${m.address}:2379`).join(",")}`,
      "--cluster=etcd-3",
      "--backup-dir=/var/backups/etcdkit",
      "--keep=5",
      "--max-age=30d",
      `--cacert=${pki}/ca.crt`,
      `--cert=${pki}/server.crt`,
      `--key=${pki}/server.key`,
    ]);
    assert.deepEqual(c.mounts, [{ type: "bind", source: stagedCertificateDir(join(PKI_ROOT, "etcd-3"), "etcd-1"), target: pki, read_only: true }]);
    assert.equal(c.volumes[0].container_path, "/var/backups/etcdkit");
    assert.match(c.networks_advanced[0].name, /docker_network\./);
    const volumes = resources(synth, "docker_volume").filter((v) => v.name === "etcd-3-backups");
    assert.equal(volumes.length, 1);
    assert.deepEqual(synth.output.backup.value.run_once.includes("docker start -a"), true);
  });

  test("plaintext stacks: no certificate flags or mounts", () => {
    const { synth } = synthOf(options({ ETCDKIT_INSECURE: "true" }));
    const c = resources(synth, "docker_container").find((x) => x.name === "etcd-3-backup")!;
    assert.ok(!c.entrypoint.some((a: string) => a.startsWith("--cacert")));
    assert.ok((c.entrypoint as string[]).find((a) => a.startsWith("--endpoints="))!.includes("http://"));
    assert.equal(c.mounts, undefined);
  });

  test("ETCDKIT_DOCKER_BACKUP=off: no backup container, volume, output or host files", () => {
    const o = options({ ETCDKIT_DOCKER_BACKUP: "off" });
    assert.equal(o.dockerBackup, undefined);
    const { stack, synth } = synthOf(o);
    assert.ok(!resources(synth, "docker_container").some((c) => c.name === "etcd-3-backup"));
    assert.ok(!resources(synth, "docker_volume").some((v) => v.name === "etcd-3-backups"));
    assert.equal(synth.output.backup, undefined);
    assert.ok(!stack.hostFiles.some((f) => f.path.startsWith("docker-backup/")));
  });

  test("bad schedule, keep, max age or docker path are refused", () => {
    assert.throws(() => options({ ETCDKIT_DOCKER_BACKUP: "daily\nExecStartPre=/bin/sh" }), /ETCDKIT_DOCKER_BACKUP .* is not a systemd calendar expression/);
    assert.throws(() => options({ ETCDKIT_DOCKER_BACKUP_KEEP: "0" }), /ETCDKIT_DOCKER_BACKUP_KEEP must be at least 1/);
    assert.throws(() => options({ ETCDKIT_DOCKER_BACKUP_MAX_AGE: "1 week" }), /ETCDKIT_DOCKER_BACKUP_MAX_AGE must be a number and a unit/);
    assert.throws(() => options({ ETCDKIT_DOCKER_PATH: "docker" }), /ETCDKIT_DOCKER_PATH/);
  });

  describe("the Docker host's service and timer, written next to the stack", () => {
    const outdir = mkdtempSync(join(tmpdir(), "etcdkit-backup-out-"));
    after(() => rmSync(outdir, { recursive: true, force: true }));
    // systemd-analyze verify checks that ExecStart='s executable exists: use something that does.
    const docker = which("docker") ?? "/bin/true";
    const built = buildApp(options({ ETCDKIT_DOCKER_BACKUP: "*-*-* 03:15:00", ETCDKIT_DOCKER_PATH: docker }), { outdir });
    built.app.synth();
    const dir = join(outdir, "stacks", "etcd-3", "docker-backup");

    test("service runs docker start -a on the backup container; timer on the schedule; README says how to install", () => {
      const service = readFileSync(join(dir, "etcdkit-backup-etcd-3.service"), "utf8");
      assert.match(service, new RegExp(`^ExecStart=${docker} start -a etcd-3-backup$`, "m"));
      assert.match(service, /^Type=oneshot$/m);
      assert.match(service, /^Requires=docker\.service$/m);
      const timer = readFileSync(join(dir, "etcdkit-backup-etcd-3.timer"), "utf8");
      assert.match(timer, /^OnCalendar=\*-\*-\* 03:15:00$/m);
      assert.match(timer, /^Unit=etcdkit-backup-etcd-3\.service$/m);
      const readme = readFileSync(join(dir, "README.txt"), "utf8");
      assert.match(readme, /systemctl enable --now etcdkit-backup-etcd-3\.timer/);
      assert.match(readme, /volume etcd-3-backups/);
    });

    test("systemd-analyze verify is clean", (t) => {
      const tool = which("systemd-analyze");
      if (!tool) return t.skip("systemd-analyze is not installed");
      const files = ["etcdkit-backup-etcd-3.service", "etcdkit-backup-etcd-3.timer"].map((f) => join(dir, f));
      const r = spawnSync(tool, ["verify", ...files], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      // docker.service is not installed on a test machine: that is the only thing verify may say.
      const other = r.stderr.split("\n").filter((l) => l.trim() !== "" && !l.includes("docker.service"));
      assert.deepEqual(other, []);
    });
  });

  test("the image app holds what the container runs: bin/etcdkit.js backup --help from the prepared folder alone", () => {
    const out = mkdtempSync(join(tmpdir(), "etcdkit-image-"));
    try {
      const app = prepareImageApp({ root: ROOT, out, compile: false });
      assert.ok(existsSync(join(out, "backups")), "the backup volume's mount point");
      assert.ok(existsSync(join(app.dir, "dist", "ansible-free-scripts", "backup", "backup-cli.js")));
      const r = spawnSync(process.execPath, [join(app.dir, "bin", "etcdkit.js"), "backup", "--help"], { encoding: "utf8", cwd: out });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /--backup-dir/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
