/**
 * `etcdkit auth apply --wait SECONDS` (what the Kubernetes auth Job and the bare-host auth unit run
 * while the members may still be starting): it waits for a member that is not up yet and then applies;
 * with none coming up it stops after SECONDS having changed nothing; a malformed value is refused.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";
import { freePort, startMember, type MemberProcess } from "../support/launcher.js";

const dir = mkdtempSync(join(tmpdir(), "auth-wait-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const AUTH = join(dir, "auth.yaml");
writeFileSync(AUTH, "users:\n  root: { passwordEnv: WAIT_ROOT_PW, roles: [root] }\n");
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", WAIT_ROOT_PW: "wait-root-pw" };

function kit(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(packageRoot(), "bin", "etcdkit.js"), "auth", "apply", AUTH, ...args], { env, timeout: 120_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

test("--wait: no member within SECONDS -> stops, nothing applied; a malformed value is refused", async () => {
  const port = await freePort();
  const r = await kit([`--endpoints=http://127.0.0.1:${port}`, "--wait=2"]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /timed out after 2000 ms waiting for a healthy member among http:\/\/127\.0\.0\.1:\d+/);
  for (const bad of ["0", "1.5", "soon"]) {
    const b = await kit([`--endpoints=http://127.0.0.1:${port}`, `--wait=${bad}`]);
    assert.equal(b.code, 1);
    assert.match(b.out, /--wait takes whole seconds/);
  }
});

test("--wait: a member that starts while it waits gets the file applied", { timeout: 120_000 }, async () => {
  const port = await freePort();
  const applying = kit([`--endpoints=http://127.0.0.1:${port}`, "--wait=60"]);
  await new Promise((r) => setTimeout(r, 1500));
  let m: MemberProcess | undefined;
  try {
    m = await startMember("etcd-ts", { clientPort: port });
    const r = await applying;
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /auth: waiting up to 60 s/);
    assert.match(r.out, /^auth: enable authentication$/m);
  } finally {
    await applying;
    await m?.dispose();
  }
});
