/**
 * `etcdkit bench --target hosts --auth FILE --auth-cost`: an etcd-ts member on a namespace host, deployed
 * by the SSH deploy over TLS, once without auth and once with the file applied by the deploy
 * (cluster.auth); the suite logs in as root on the second, and every request of both runs succeeds.
 * Skips only where network namespaces cannot be made.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { labUnavailable } from "../../ansible-free-scripts/hosts/netns.js";
import { packageRoot } from "../../server/util/package-root.js";
import { ensureSshd } from "../support/ensure-sshd.js";

const unavailable = labUnavailable();
const dir = mkdtempSync(join(tmpdir(), "bench-hosts-auth-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  id: string;
  auth?: boolean;
  workloads: { name: string; trials: { ok: number; errors: number; errorKinds?: Record<string, number> }[] }[];
}

describe("--auth on --target hosts", { skip: unavailable ? `skipped: ${unavailable}` : false, timeout: 400_000 }, () => {
  test("a host without auth, then one deployed with the auth file; the load logs in as root", { timeout: 390_000 }, async () => {
    ensureSshd();
    writeFileSync(join(dir, "auth.yaml"), "users:\n  root: { passwordEnv: HOSTS_AUTH_PW, roles: [root] }\n");
    const out = join(dir, "out");
    const r = await execa(
      process.execPath,
      [join(packageRoot(), "bin", "etcdkit.js"), "bench", "--target", "hosts", "--hosts", "1", "--baseline", "none", "--auth", join(dir, "auth.yaml"), "--auth-cost", "--workloads", "put", "--clients", "2", "--duration", "1", "--trials", "1", "--warmup", "10", "--quiet", "--out", out],
      { reject: false, env: { HOSTS_AUTH_PW: "hosts-pw" }, timeout: 380_000 },
    );
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    const runs = (JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as { runs: Run[] }).runs;
    assert.deepEqual(
      runs.map((x) => [x.id.replace(/@.*/, ""), x.auth ?? false]),
      [["1-etcd-ts-noauth", false], ["1-etcd-ts-auth", true]],
    );
    for (const run of runs) {
      const t = run.workloads[0]!.trials[0]!;
      assert.ok(t.ok > 0 && t.errors === 0, `${run.id}: ${JSON.stringify(t.errorKinds)} ok ${t.ok}`);
    }
  });
});

test("--auth goes with the clusters the bench makes; --user with servers that already run", () => {
  writeFileSync(join(dir, "flags.yaml"), "users:\n  root: { passwordEnv: HOSTS_AUTH_PW, roles: [root] }\n");
  return import("../../bench/cli.js").then(({ resolveOptions }) => {
    assert.equal(resolveOptions({ target: "hosts", hosts: ["1"], auth: join(dir, "flags.yaml") }).authFile, join(dir, "flags.yaml"));
    assert.throws(() => resolveOptions({ target: "hosts", hosts: ["1"], user: "root:x" }), /--user goes with --endpoints or --stack-outputs/);
  });
});
