/**
 * `etcdkit local up --auth FILE`: etcd-ts over TLS (the default) and etcd 3.4 in plain text. Auth is on
 * once up returns; root's password is in <dir>/root.password (0600) and nowhere in the state or the
 * rendered files; status works; `etcdkit backup` gets a snapshot as root; `etcdkit auth apply` on the
 * cluster changes nothing; the file's user is refused outside its prefix; down leaves nothing.
 * A missing password stops up before anything is created.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { LocalCluster } from "../../ansible-free-scripts/local/cluster.js";
import { packageRoot } from "../../server/util/package-root.js";
import { etcdctl } from "../support/etcdctl.js";

const ROOT_PW = "r00t-Pw-local-auth";
const SVC_PW = "svc-Pw-local-auth";
const FILE = `
users:
  root: { passwordEnv: LOCAL_AUTH_ROOT_PW, roles: [root] }
  svc: { passwordFile: svc.pw, roles: [svc] }
roles:
  svc: { permissions: [{ key: /services/svc/, prefix: true, type: readwrite }] }
`;
const etcdkit = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [join(packageRoot(), "bin", "etcdkit.js"), ...args], { reject: false, env: { ...process.env, ...env } });

function grepDir(dir: string, needle: string, skip: string): string[] {
  const hits: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    if (!e.isFile() || p === skip || p.includes("/data/")) continue;
    if (readFileSync(p).includes(needle)) hits.push(p);
  }
  return hits;
}

describe("etcdkit local up --auth", { timeout: 240_000 }, () => {
  const base = mkdtempSync(join(tmpdir(), "local-auth-"));
  writeFileSync(join(base, "auth.yaml"), FILE);
  writeFileSync(join(base, "svc.pw"), SVC_PW + "\n");
  const clusters: LocalCluster[] = [];
  after(async () => {
    for (const c of clusters) await c.down().catch(() => {});
    rmSync(base, { recursive: true, force: true });
  });

  for (const [server, insecure] of [["etcd-ts", false], ["etcd", true]] as const) {
    test(`${server}, ${insecure ? "plaintext" : "TLS"}`, async () => {
      const dir = join(base, server);
      const c = await LocalCluster.up({ members: server === "etcd" ? 1 : 3, server, dir, insecure, authFile: join(base, "auth.yaml"), authEnv: { LOCAL_AUTH_ROOT_PW: ROOT_PW } });
      clusters.push(c);
      const pwFile = join(dir, "root.password");
      assert.equal(readFileSync(pwFile, "utf8"), ROOT_PW);
      assert.equal(statSync(pwFile).mode & 0o777, 0o600);
      assert.deepEqual(grepDir(dir, ROOT_PW, pwFile), [], "root's password only in root.password");
      const attached = await LocalCluster.attach(dir);
      assert.deepEqual(attached.credentials(), { user: "root", password: ROOT_PW });

      const status = await etcdkit(["local", "status", "--dir", dir]);
      assert.equal(status.exitCode, 0, status.stderr);
      assert.match(status.stdout, /auth: on/);
      assert.equal((status.stdout.match(/ healthy /g) ?? []).length, c.members.length);

      const bk = await etcdkit(["backup", "--dir", dir, "--backup-dir", join(base, `${server}-backups`)]);
      assert.equal(bk.exitCode, 0, bk.stderr);
      assert.match(bk.stdout, /authenticated as root/);

      const again = await etcdkit(["auth", "apply", join(base, "auth.yaml"), "--dir", dir], { LOCAL_AUTH_ROOT_PW: ROOT_PW });
      assert.equal(again.exitCode, 0, again.stderr);
      assert.match(again.stdout, /auth: nothing to change/);

      const tls = c.tls ? [`--cacert=${c.tls.ca}`, `--cert=${c.tls.cert}`, `--key=${c.tls.key}`] : [];
      const eps = c.endpoints().map((u) => new URL(u).host);
      assert.equal((await etcdctl(eps, [...tls, "--user", `svc:${SVC_PW}`, "put", "/services/svc/x", "1"])).code, 0);
      const refused = await etcdctl(eps, [...tls, "--user", `svc:${SVC_PW}`, "put", "/elsewhere", "1"]);
      assert.match(refused.stderr, /Error: etcdserver: permission denied/);
      await c.down();
      assert.equal(existsSync(dir), false);
    });
  }

  test("a password that cannot be read stops up before anything is made", async () => {
    const dir = join(base, "refused");
    await assert.rejects(LocalCluster.up({ members: 1, dir, insecure: true, authFile: join(base, "auth.yaml"), authEnv: {} }), /users\.root: environment variable LOCAL_AUTH_ROOT_PW is not set/);
    assert.equal(existsSync(dir), false);
  });
});
