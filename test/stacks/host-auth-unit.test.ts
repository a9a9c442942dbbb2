/**
 * ETCDKIT_AUTH_FILE in the bare-host files synth writes (topology/auth-unit.ts): the first member's
 * folder holds `etcdkit-auth-<stack>.service` (oneshot, after that member, passwords only through
 * LoadCredential=) and the auth file it reads from its credential folder; no rendered file holds a
 * password; the unit passes `systemd-analyze verify`; and its ExecStart=, run as systemd runs it (the
 * credential directory made from the LoadCredential= lines, `${CREDENTIALS_DIRECTORY}` expanded, no
 * password in the environment), applies the file to a real TLS cluster (etcd-ts and etcd 3.4).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "../../stacks/app.js";
import { bareHostTopology, readStackOptions } from "../../stacks/options.js";
import { prepareStackPki } from "../../stacks/prepare-pki.js";
import { packageRoot } from "../../server/util/package-root.js";
import { planTopology, splitUnitArgs, unitFileName } from "../../topology/index.js";
import { loadAuthFile, parseAuthSpec } from "../../ansible-free-scripts/auth/auth-file.js";
import { parse as parseYaml } from "yaml";
import { caPaths, serverPaths } from "../../pki/layout.js";
import { ensurePlanPki } from "../../pki/plan-pki.js";
import { TlsCluster } from "../support/tls-cluster.js";
import { haveEtcd, type Flavor } from "../support/launcher.js";
import { etcdctl } from "../support/etcdctl.js";

const ROOT = packageRoot();
const ROOT_PW = "host-root-Secret-0c4d";
const SVC_PW = "host-svc-Secret-e81a";
const dir = mkdtempSync(join(tmpdir(), "host-auth-"));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "svc.pw"), SVC_PW + "\n");
const AUTH = join(dir, "auth.yaml");
writeFileSync(AUTH, "users:\n  root: { passwordEnv: HOST_ROOT_PW, roles: [root] }\n  svc: { passwordFile: svc.pw, roles: [svc] }\nroles:\n  svc: { permissions: [{ key: /svc/, prefix: true, type: readwrite }] }\n");
// systemd-analyze verify checks that ExecStart='s executable exists: this machine's node.
const nodePath = existsSync("/usr/bin/node") ? "/usr/bin/node" : process.execPath;
const env = { ETCDKIT_SIZES: "1", ETCDKIT_K8S_SIZES: "none", ETCDKIT_PKI_DIR: join(dir, "pki"), ETCDKIT_AUTH_FILE: AUTH, ETCDKIT_HOST_NODE: nodePath, HOST_ROOT_PW: ROOT_PW };
const options = readStackOptions(ROOT, env);
await prepareStackPki(options, () => {});
const outdir = join(dir, "cdktf.out");
buildApp(options, { outdir }).app.synth();
const plan = planTopology(bareHostTopology(1, options));
// the hosts' certificates, as `etcdkit pki --target hosts` makes them (synth does not: they name the hosts)
await ensurePlanPki(plan);
const member = plan.members[0]!;
const hostDir = join(outdir, "stacks", "etcd-1", "hosts", member.name);
const unitPath = join(hostDir, "etcdkit-auth-etcd-1.service");
const unit = readFileSync(unitPath, "utf8");
const serviceLines = (key: string) => unit.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

test("the unit: oneshot after the member, as the members' user, passwords only as credentials, the sandbox", () => {
  const memberUnit = unitFileName(member.name);
  assert.deepEqual(serviceLines("Type"), ["oneshot"]);
  assert.deepEqual(serviceLines("User"), ["etcd"]);
  assert.deepEqual(serviceLines("Wants"), [`network-online.target ${memberUnit}`]);
  assert.deepEqual(serviceLines("After"), [`network-online.target ${memberUnit}`]);
  assert.deepEqual(serviceLines("LoadCredential"), [
    "auth.yaml:/etc/etcdkit/auth-etcd-1/auth.yaml",
    "root.password:/etc/etcdkit/auth-etcd-1/root.password",
    "svc.password:/etc/etcdkit/auth-etcd-1/svc.password",
  ]);
  assert.deepEqual(splitUnitArgs(serviceLines("ExecStart")[0]!), [
    nodePath,
    "/opt/etcdkit/bin/etcdkit.js",
    "auth",
    "apply",
    "${CREDENTIALS_DIRECTORY}/auth.yaml",
    `--endpoints=${plan.endpoints.join(",")}`,
    "--wait=600",
    `--cacert=${member.tls!.paths.ca}`,
    `--cert=${member.tls!.paths.cert}`,
    `--key=${member.tls!.paths.key}`,
  ]);
  for (const l of ["NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=", "WantedBy=multi-user.target"]) assert.ok(unit.includes(`\n${l}\n`), l);
  assert.ok(!unit.includes("ReadWritePaths"), "nothing writable");
  // the file it reads: same users and roles, each password the credential <user>.password
  const spec = parseAuthSpec(parseYaml(readFileSync(join(hostDir, "auth-etcd-1", "auth.yaml"), "utf8")), "/x");
  assert.deepEqual(spec.users.map((u) => u.password), [{ file: "root.password" }, { file: "svc.password" }]);
  assert.deepEqual(spec.roles, loadAuthFile(AUTH).roles);
  assert.match(readFileSync(join(outdir, "stacks", "etcd-1", "hosts", "README.txt"), "utf8"), /systemctl enable --now etcdkit-auth-etcd-1\.service/);
  // only the first member's host runs it
  assert.equal(readdirSync(join(outdir, "stacks", "etcd-1", "hosts"), { recursive: true }).filter((f) => String(f).endsWith("etcdkit-auth-etcd-1.service")).length, 1);
});

test("no password in any rendered file", () => {
  for (const e of readdirSync(outdir, { withFileTypes: true, recursive: true }).filter((x) => x.isFile())) {
    const t = readFileSync(join(e.parentPath, e.name), "utf8");
    assert.ok(!t.includes(ROOT_PW) && !t.includes(SVC_PW), `no password in ${e.name}`);
  }
});

test("systemd-analyze verify: the auth unit with its member's unit", (t) => {
  const tool = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find(existsSync);
  if (!tool) return t.skip("systemd-analyze is not installed");
  const r = spawnSync(tool, ["verify", join(hostDir, unitFileName(member.name)), unitPath], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stderr.split("\n").filter((l) => l.trim() !== ""), []);
});

function run(cmd: string, args: string[], runEnv: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: runEnv, timeout: 90_000 }, (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
  });
}

const flavors: Flavor[] = haveEtcd() ? ["etcd-ts", "etcd"] : ["etcd-ts"];
test("ExecStart=, with the credentials systemd would hand it, applies the file to a TLS cluster; a re-run changes nothing", { timeout: 240_000 }, async () => {
  // what root placed on the host: the rendered auth file and one password file per user, 0600
  const placed: Record<string, string> = {
    "/etc/etcdkit/auth-etcd-1/auth.yaml": join(hostDir, "auth-etcd-1", "auth.yaml"),
    "/etc/etcdkit/auth-etcd-1/root.password": join(dir, "root.password"),
    "/etc/etcdkit/auth-etcd-1/svc.password": join(dir, "svc.password"),
  };
  writeFileSync(join(dir, "root.password"), `${ROOT_PW}\n`, { mode: 0o600 });
  writeFileSync(join(dir, "svc.password"), SVC_PW, { mode: 0o600 });
  // LoadCredential=ID:PATH -> $CREDENTIALS_DIRECTORY/ID, as systemd does it (a private 0700 folder, 0400 copies)
  const creds = join(dir, "credentials");
  mkdirSync(creds, { mode: 0o700 });
  for (const l of serviceLines("LoadCredential")) {
    const [id, path] = [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)];
    copyFileSync(placed[path]!, join(creds, id));
    chmodSync(join(creds, id), 0o400);
  }
  const fromPki = new Map(member.tls!.files.map((f) => [f.target, f.source]));
  const pki = join(dir, "pki", "etcd-1-hosts");
  for (const flavor of flavors) {
    const cluster = await TlsCluster.start({ flavor, size: 1, dir: join(dir, `cluster-${flavor}`), pki, names: [member.name] });
    try {
      const url = cluster.members[0]!.clientUrl;
      const [, ...args] = splitUnitArgs(serviceLines("ExecStart")[0]!).map((a) => {
        if (a === "/opt/etcdkit/bin/etcdkit.js") return join(ROOT, "bin", "etcdkit.js");
        if (a.startsWith("--endpoints=")) return `--endpoints=${url}`;
        const m = /^(--[a-z]+=)(\/etc\/etcdkit\/pki\/.*)$/.exec(a);
        if (m) return `${m[1]}${fromPki.get(m[2]!)}`;
        return a.replace("${CREDENTIALS_DIRECTORY}", creds);
      });
      // the service's environment: systemd's CREDENTIALS_DIRECTORY, no password
      const unitEnv = { CREDENTIALS_DIRECTORY: creds, PATH: "/usr/bin:/bin" };
      const first = await run(process.execPath, args, unitEnv);
      assert.equal(first.code, 0, `${flavor}: ${first.out}`);
      assert.match(first.out, /^auth: enable authentication$/m, first.out);
      const again = await run(process.execPath, args, unitEnv);
      assert.equal(again.code, 0, again.out);
      assert.match(again.out, /auth: nothing to change/);
      const tlsFlags = [`--cacert=${caPaths(pki).cert}`, `--cert=${serverPaths(pki, member.name).cert}`, `--key=${serverPaths(pki, member.name).key}`];
      assert.equal((await etcdctl(url, [...tlsFlags, "--user", `svc:${SVC_PW}`, "put", "/svc/a", "1"])).code, 0);
      assert.match((await etcdctl(url, [...tlsFlags, "--user", `svc:${SVC_PW}`, "get", "/other"])).stderr, /permission denied/);
    } finally {
      await cluster.stop();
    }
  }
});
