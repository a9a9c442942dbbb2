/**
 * The service-discovery example on a cluster with auth on (etcd 3.4 and etcd-ts, one member each),
 * set up by `etcdkit auth apply`: the user `api` has a role that can read and write only
 * `/service/api/`. It registers (lease + put) and discovers under its prefix, a watch of its prefix
 * sees its instances, and registering another service is refused with etcd's
 * "etcdserver: permission denied", leaving no key behind. Without a user, a register is refused too.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "../../examples/service-discovery/registry.js";
import { loadAuthFile } from "../../ansible-free-scripts/auth/auth-file.js";
import { applyAuth } from "../../ansible-free-scripts/auth/auth-apply.js";
import { etcdctl } from "../support/etcdctl.js";
import { startMember, type Flavor, type MemberProcess } from "../support/launcher.js";

const FILE = `
users:
  root: { passwordEnv: SD_ROOT_PW, roles: [root] }
  api: { passwordEnv: SD_API_PW, roles: [service-api] }
roles:
  service-api:
    permissions:
      - { key: /service/api/, prefix: true, type: readwrite }
`;
const ENV = { SD_ROOT_PW: "sd-root", SD_API_PW: "sd-api" };

for (const flavor of ["etcd", "etcd-ts"] as Flavor[]) {
  describe(`service discovery with auth on, ${flavor}`, { timeout: 120_000 }, () => {
    let m: MemberProcess;
    const dir = mkdtempSync(join(tmpdir(), "sd-auth-"));
    const registries: Registry[] = [];
    before(async () => {
      writeFileSync(join(dir, "auth.yaml"), FILE);
      m = await startMember(flavor);
      await applyAuth(loadAuthFile(join(dir, "auth.yaml")), { endpoints: [m.endpoint], env: ENV });
    });
    after(async () => {
      for (const r of registries) await r.close().catch(() => {});
      await m?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });
    const registry = (auth?: { username: string; password: string }) => {
      const r = new Registry({ endpoints: [m.endpoint], ...(auth ? { auth } : {}) });
      registries.push(r);
      return r;
    };

    test("registers and discovers under its own prefix, is refused outside it", async () => {
      const api = registry({ username: "api", password: ENV.SD_API_PW });
      const seen: string[] = [];
      const w = await api.watch("api");
      w.onOnline((i) => seen.push(i.instance));
      const reg = await api.register("api", "a", "10.0.0.1:8080", 5);
      assert.deepEqual((await api.discover("api")).map((i) => i.address), ["10.0.0.1:8080"]);
      for (let i = 0; i < 100 && !seen.includes("a"); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(seen.includes("a"), "the watch saw the instance");
      await assert.rejects(api.register("billing", "b", "10.0.0.2:8080", 5), (e: Error) => {
        assert.match(e.message, /etcdserver: permission denied/);
        return true;
      });
      await assert.rejects(api.discover("billing"), /etcdserver: permission denied/);
      const keys = await etcdctl(m.endpoint, ["--user", `root:${ENV.SD_ROOT_PW}`, "get", "--prefix", "--keys-only", "/service/"]);
      assert.deepEqual(keys.stdout.split("\n").filter(Boolean), ["/service/api/a"]);
      await w.close();
      await reg.deregister();
      await assert.rejects(registry().register("api", "c", "10.0.0.3:8080", 5), /etcdserver: user name is empty/);
    });
  });
}
