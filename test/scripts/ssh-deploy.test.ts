/**
 * SSH deploy against a real OpenSSH server of our own (sshd -D -f <own config> on 127.0.0.1, its
 * own host key, a key-only root login for a key made in a temp dir): a 3-member cluster (real etcd
 * on the "hosts", all 127.0.0.1 with distinct ports) deployed, checked with a put/get, redeployed
 * (idempotent), rolling-restarted, torn down, and proven gone. TLS, the kit's default: the deploy
 * makes the PKI, copies each member's certificates (folder 0700, keys 0600, owned by the service
 * user), and the members are reached over https with the root client certificate only. Also: --dry-run changes nothing,
 * an unreachable host stops deploy before any change, and the etcd-ts bundle holds what it must.
 * Safety: the members run as the inventory's service user (created by the deploy) with UMask 0077,
 * NoNewPrivs and a clean environment; the ssh key lives under a hostile file name (quotes, $(...),
 * backticks, ';') that every ssh/scp call passes through unchanged; and hostile values in every
 * inventory field are refused by a real (not dry) run before anything reaches the host. A canary
 * file that any evaluated value would create must never appear.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { homedir, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { Etcd3 } from "etcd3";
import { stringify as toYaml } from "yaml";
import { which } from "../../ansible-free-scripts/common/paths.js";
import { packageRoot } from "../../server/util/package-root.js";
import { isPortFree } from "../../ansible-free-scripts/local/ports.js";
import { loadInventory, type Inventory } from "../../ansible-free-scripts/ssh/inventory.js";
import { SshRemote } from "../../ansible-free-scripts/ssh/remote.js";
import { deploy, rollingRestart, status, teardown } from "../../ansible-free-scripts/ssh/deploy.js";
import { buildBundle } from "../../ansible-free-scripts/ssh/bundle.js";
import { main as sshMain } from "../../ansible-free-scripts/ssh/cli.js";
import { etcdctl } from "../support/etcdctl.js";
import { INVENTORY_FIELDS, hostileValues, setField, type Doc } from "../support/hostile-values.js";

const SSHD = "/usr/sbin/sshd";

/** The PKI's root client certificate, as etcd3 takes it (the kit's TLS clusters require a client certificate). */
function credentials(inv: Inventory): { rootCertificate: Buffer; certChain: Buffer; privateKey: Buffer } {
  const t = inv.plan.clientTls!;
  return { rootCertificate: readFileSync(t.ca), certChain: readFileSync(t.cert), privateKey: readFileSync(t.key) };
}

/** Runs `f` with process.stdout/stderr swallowed (the CLI prints its refusals). */
async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await f();
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

function ensureSshd(): string | undefined {
  if (!which("ssh") || !existsSync(SSHD)) {
    const r = spawnSync("sh", ["-c", "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq openssh-server openssh-client >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq openssh-server openssh-client >/dev/null 2>&1)"], {
      timeout: 300_000,
    });
    if (!which("ssh") || !existsSync(SSHD)) return `openssh-server is missing and could not be installed (exit ${r.status})`;
  }
  if (!which("etcd")) return "no etcd binary on PATH (CI installs etcd-server)";
  return undefined;
}

const skip = ensureSshd() ?? false;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.setTimeout(1000);
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
    s.once("timeout", () => (s.destroy(), resolve(false)));
  });
}

async function freePorts(n: number, from: number): Promise<number[]> {
  const out: number[] = [];
  for (let p = from; out.length < n && p < 65000; p++) if (await isPortFree(p)) out.push(p);
  return out;
}

function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** /proc/<pid>/status as key -> value. */
function procStatus(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .filter((l) => l.includes(":"))
      .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
  );
}

const SERVICE_USER = "etcdkit-sshtest";
const AUTH_ROOT_PW = "ssh-root-Pw-7f3a";
const AUTH_SVC_PW = "ssh-svc-Pw-91c2";

function etcdctlTls(inv: Inventory): string[] {
  const t = inv.plan.clientTls!;
  return [`--cacert=${t.ca}`, `--cert=${t.cert}`, `--key=${t.key}`];
}
const userExists = (u: string) => spawnSync("id", ["-u", u]).status === 0;

describe("ssh deploy to our own sshd", { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), "etcdkit-ssh-test-"));
  // The service user must be able to reach its data dir below the test's temp dir.
  chmodSync(tmp, 0o755);
  const remoteRoot = join(tmp, "remote");
  const canary = join(tmp, "canary");
  const homeCanary = join(homedir(), `etcdkit-canary-${process.pid}-${Date.now()}`);
  const userWasThere = userExists(SERVICE_USER);
  let doc: Doc;
  let sshd: ResultPromise | undefined;
  let sshdPid: number | undefined;
  let sshPort = 0;
  let inventoryFile = "";
  let inv: Inventory;
  const lines: string[] = [];
  const opts = () => ({ remote: new SshRemote(false, (l: string) => lines.push(l)), log: (l: string) => lines.push(l) });
  const hostsDir = (s: string) => join(remoteRoot, s);
  const pidsOf = () => inv.members.map((m) => Number(readFileSync(join(hostsDir("opt"), "run", `${m.name}.pid`), "utf8").trim()));

  before(async () => {
    // The key's file name is hostile on purpose: it must reach ssh and scp as one unchanged argument.
    // (A file name cannot hold '/', so its canary is relative to $HOME: `cd` with no argument goes there.)
    const key = join(tmp, `id key $(cd && touch ${basename(homeCanary)}) 'q' \`cd && touch ${basename(homeCanary)}\`;x`);
    const hostKey = join(tmp, "ssh_host_ed25519_key");
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
    assert.ok(existsSync(key), "ssh-keygen wrote the key under its hostile name");
    writeFileSync(join(tmp, "authorized_keys"), readFileSync(key + ".pub"));
    chmodSync(join(tmp, "authorized_keys"), 0o600);
    [sshPort] = await freePorts(1, 42200);
    const config = join(tmp, "sshd_config");
    writeFileSync(
      config,
      [
        `Port ${sshPort}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `PidFile ${join(tmp, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(tmp, "authorized_keys")}`,
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    mkdirSync("/run/sshd", { recursive: true });
    sshd = execa(SSHD, ["-D", "-e", "-f", config], { reject: false, stdout: "ignore", stderr: "pipe", cleanup: true });
    sshdPid = sshd.pid;
    for (let i = 0; i < 100 && !(await accepts(sshPort!)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(await accepts(sshPort!), "sshd listens");

    const ports = await freePorts(6, 34479);
    // On a machine where systemd runs, keep the test off the host's systemd: use the supervisor.
    const manager = existsSync("/run/systemd/system") ? "supervisor" : "auto";
    doc = {
      cluster: {
        name: "ssh-test",
        server: "etcd",
        etcdPath: which("etcd"),
        user: SERVICE_USER,
        serviceManager: manager,
        deployDir: hostsDir("opt"),
        envDir: hostsDir("etc"),
        dataDir: hostsDir("data"),
        unitDir: hostsDir("systemd"),
        healthTimeoutMs: 30_000,
        pkiDir: join(tmp, "pki"),
        certDir: hostsDir("certs"),
        backup: { dir: hostsDir("backups"), keep: 3 },
        auth: join(tmp, "auth.yaml"),
      },
      hosts: [0, 1, 2].map((i) => ({
        address: "127.0.0.1",
        name: `etcd-${i + 1}`,
        clientPort: ports[2 * i],
        peerPort: ports[2 * i + 1],
        ssh: { user: "root", port: sshPort, identity: key, options: ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"] },
      })),
    };
    inventoryFile = join(tmp, "inventory.yaml");
    writeFileSync(inventoryFile, toYaml(doc));
    // cluster.auth: applied from this machine once healthy; its passwords never reach the hosts
    process.env.SSH_TEST_ROOT_PW = AUTH_ROOT_PW;
    writeFileSync(join(tmp, "svc.pw"), AUTH_SVC_PW);
    writeFileSync(join(tmp, "auth.yaml"), `users:\n  root: { passwordEnv: SSH_TEST_ROOT_PW, roles: [root] }\n  svc: { passwordFile: ${join(tmp, "svc.pw")}, roles: [svc] }\nroles:\n  svc: { permissions: [{ key: /svc/, prefix: true, type: readwrite }] }\n`);
    inv = loadInventory(inventoryFile);
  });

  after(async () => {
    // Whatever happened, leave nothing running: tear down, then stop our sshd by its PID.
    if (inv && existsSync(hostsDir("opt"))) await teardown(inv, opts()).catch(() => {});
    if (sshdPid !== undefined) {
      try {
        process.kill(sshdPid, "SIGTERM");
      } catch {
        /* gone */
      }
      await sshd?.catch(() => {});
    }
    if (!userWasThere && userExists(SERVICE_USER)) spawnSync("userdel", [SERVICE_USER]);
    rmSync(tmp, { recursive: true, force: true });
  });

  test("--dry-run prints every ssh command with its script and changes nothing", async () => {
    const printed: string[] = [];
    await deploy(inv, { remote: new SshRemote(true, (l) => printed.push(l)), log: () => {} });
    const text = printed.join("\n");
    assert.match(text, new RegExp(`ssh -o BatchMode=yes .* -p ${sshPort} -- root@127\\.0\\.0\\.1 'sh -s' <<'ETCDKIT_SCRIPT'`));
    assert.match(text, /# check root@127\.0\.0\.1/);
    assert.match(text, /# install and start etcd-1, etcd-2, etcd-3 on root@127\.0\.0\.1/);
    assert.match(text, /etcdkit-supervise/);
    assert.equal(existsSync(hostsDir("opt")), false, "nothing created");
    assert.equal(existsSync(canary), false);
  });

  test("a real run refuses hostile values in every field before anything reaches the host", async () => {
    const file = join(tmp, "hostile.json");
    let runs = 0;
    for (const f of INVENTORY_FIELDS) {
      if (f.kind === "identity") continue; // a legitimate file name: the deploy below uses one
      // Those of the field's hostile values that would run something if evaluated.
      for (const v of hostileValues(f.kind, canary).filter((x) => /touch|ETCD_|\\n/.test(JSON.stringify(x)))) {
        const bad = JSON.parse(JSON.stringify(doc)) as Doc;
        setField(bad, f, v);
        writeFileSync(file, JSON.stringify(bad));
        const cmd = ["deploy", "teardown", "status", "rolling-restart"][runs++ % 4]!;
        const code = await quietly(() => sshMain([cmd, "--inventory", file]));
        assert.equal(code, 1, `${cmd} with ${f.field} = ${JSON.stringify(v)} was not refused`);
      }
    }
    assert.ok(runs > 100);
    assert.equal(existsSync(canary), false, "a hostile value was evaluated");
    assert.equal(existsSync(hostsDir("opt")), false, "nothing reached the host");
  });

  test("an unreachable host stops deploy before anything changes", async () => {
    const [closed] = await freePorts(1, 42300);
    const bad = { ...inv, members: inv.members.map((m, i) => (i === 2 ? { ...m, ssh: { ...m.ssh, port: closed! } } : m)) };
    await assert.rejects(deploy(bad, opts()), /not deploying: 1 problem, nothing was changed/);
    assert.equal(existsSync(hostsDir("opt")), false);
  });

  test("deploy: 3 members healthy, put/get; re-deploy is a no-op; rolling restart; status; teardown leaves nothing", { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    await deploy(inv, opts());
    assert.ok(lines.some((l) => /mode=(supervisor|systemd)/.test(l)));
    // cluster.backup: the supervisor has no timers, and the deploy says so rather than pretend.
    if (lines.some((l) => /mode=supervisor/.test(l))) assert.ok(lines.some((l) => /etcdkit-backup-ssh-test: not installed: scheduled backups need systemd/.test(l)), lines.join("\n"));
    for (const m of inv.members) {
      assert.ok(existsSync(join(hostsDir("etc"), `${m.name}.env`)));
      assert.ok(existsSync(join(hostsDir("opt"), "units", `etcdkit-${m.name}.service`)));
    }
    assert.match(inv.plan.endpoints[0]!, /^https:\/\//);
    const client = new Etcd3({ hosts: inv.plan.endpoints[0]!, credentials: credentials(inv) });
    try {
      await client.put("etcdkit/ssh").value("deployed");
      assert.equal(await client.get("etcdkit/ssh").string(), "deployed");
    } finally {
      client.close();
    }
    // cluster.auth applied after health: auth on (root here by its certificate's CN), the passwords in no host file
    assert.ok(lines.includes("auth: enable authentication"), lines.join("\n"));
    const anon = await etcdctl(inv.plan.endpoints[0]!.replace("https://", ""), [...etcdctlTls(inv), "--user", `svc:${AUTH_SVC_PW}`, "put", "/elsewhere", "x"]);
    assert.match(anon.stderr, /Error: etcdserver: permission denied/);
    for (const d of ["opt", "etc", "systemd", "certs"]) {
      const hit = spawnSync("grep", ["-rlF", "-e", AUTH_ROOT_PW, "-e", AUTH_SVC_PW, hostsDir(d)], { encoding: "utf8" }).stdout.trim();
      assert.equal(hit, "", `no password in ${hostsDir(d)}`);
    }
    const pids1 = pidsOf();
    assert.ok(pids1.every(pidAlive));
    // The supervisor runs members as the service user (the deploy created it), as the unit says.
    const uid = Number(spawnSync("id", ["-u", SERVICE_USER], { encoding: "utf8" }).stdout.trim());
    assert.ok(uid > 0, `${SERVICE_USER} exists`);
    for (const [i, pid] of pids1.entries()) {
      const st = procStatus(pid);
      assert.equal(st.Uid!.split(/\s+/)[0], String(uid), `member pid ${pid} runs as ${SERVICE_USER}`);
      assert.equal(st.Umask, "0077", "UMask= of the unit");
      assert.equal(st.NoNewPrivs, "1", "NoNewPrivileges= of the unit");
      assert.equal(st.CapEff, "0000000000000000", "no capabilities");
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      assert.ok(env.includes(`ETCD_NAME=${inv.members[i]!.name}`), "env file applied");
      assert.ok(env.includes(`USER=${SERVICE_USER}`));
      assert.ok(!env.some((e) => e.startsWith("SSH_")), "no ssh session environment leaks into the member");
      assert.equal(statSync(inv.members[i]!.plan.config.dataDir).uid, uid, "data dir owned by the service user");
      assert.equal(statSync(inv.members[i]!.plan.config.dataDir).mode & 0o777, 0o700);
      const tls = inv.members[i]!.plan.tls!;
      const certDir = join(hostsDir("certs"), inv.members[i]!.name);
      assert.equal(statSync(certDir).mode & 0o777, 0o700, "certificate folder 0700");
      assert.equal(statSync(certDir).uid, uid, "certificate folder owned by the service user");
      for (const k of [tls.paths.key, tls.paths.peerKey]) {
        assert.equal(statSync(k).mode & 0o777, 0o600, `${k} 0600`);
        assert.equal(statSync(k).uid, uid, `${k} owned by the service user`);
      }
      assert.ok(env.includes(`ETCD_CERT_FILE=${tls.paths.cert}`) && env.includes("ETCD_CLIENT_CERT_AUTH=true"), "the member serves TLS with its copied certificate");
    }

    // Idempotent: nothing changed, nothing restarted.
    lines.length = 0;
    await deploy(inv, opts());
    assert.equal(lines.filter((l) => /files unchanged/.test(l)).length, 3, lines.join("\n"));
    assert.ok(lines.some((l) => /^auth: nothing to change/.test(l)), lines.join("\n"));
    assert.deepEqual(pidsOf(), pids1);

    lines.length = 0;
    await rollingRestart(inv, opts());
    assert.equal(lines.filter((l) => /restarted and healthy/.test(l)).length, 3);
    const pids2 = pidsOf();
    for (let i = 0; i < 3; i++) assert.notEqual(pids2[i], pids1[i], `${inv.members[i]!.name} restarted`);
    for (const p of pids1) assert.equal(pidAlive(p), false);

    const rows = await status(inv, opts());
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r.healthy && /active/.test(r.service)), JSON.stringify(rows));
    assert.equal(rows.filter((r) => r.leader).length, 1);
    const client2 = new Etcd3({ hosts: inv.plan.endpoints[2]!, credentials: credentials(inv) });
    try {
      assert.equal(await client2.get("etcdkit/ssh").string(), "deployed", "data survived the rolling restart");
    } finally {
      client2.close();
    }

    // The CLI on the same inventory.
    assert.equal(await sshMain(["status", "--inventory", inventoryFile, "--json"]), 0);
    assert.equal(await sshMain(["deploy", "--help"]), 0);

    await teardown(inv, opts());
    for (const p of pids2) assert.equal(pidAlive(p), false, `pid ${p} gone`);
    for (const m of inv.members) {
      assert.equal(await accepts(m.plan.clientPort), false, `client port ${m.plan.clientPort} closed`);
      assert.equal(await accepts(m.plan.peerPort), false, `peer port ${m.plan.peerPort} closed`);
    }
    for (const d of ["opt", "etc", "data", "certs"]) assert.equal(existsSync(hostsDir(d)), false, `${d} removed`);
    await teardown(inv, opts()); // idempotent
    assert.equal(existsSync(canary), false, "no hostile value was evaluated");
    assert.equal(existsSync(homeCanary), false, "the hostile key name was never evaluated");
    console.log(`# ssh deploy/redeploy/rolling-restart/teardown took ${Date.now() - t0} ms`);
  });
});

test("the etcd-ts bundle holds dist/server, bin, the protos, package.json and only production node_modules", { timeout: 120_000 }, async () => {
  const root = packageRoot();
  const dir = mkdtempSync(join(tmpdir(), "etcdkit-bundle-test-"));
  try {
    const b = await buildBundle(root, join(dir, "b.tgz"), { requireBuilt: false });
    assert.match(b.id, /^[0-9a-f]{64}$/);
    const list = spawnSync("tar", ["-tzf", b.file], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 }).stdout.split("\n");
    const has = (p: string) => list.some((l) => l === p || l.startsWith(p + "/"));
    for (const p of ["bin/etcd-ts.js", "package.json", "server/api/proto", "dist/server", "dist/ansible-free-scripts/backup/backup-cli.js", "node_modules/@grpc/grpc-js/package.json", "node_modules/yaml/package.json"]) assert.ok(has(p), `bundle has ${p}`);
    for (const p of ["node_modules/typescript", "node_modules/tsx", "node_modules/etcd3", "test", "stacks", "dist/bench", "dist/ansible-free-scripts/local"]) assert.ok(!has(p), `bundle lacks ${p}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

before(() => {
  if (skip) console.log(`# skipping the ssh deploy tests: ${skip}`);
});
