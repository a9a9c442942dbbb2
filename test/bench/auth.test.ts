/**
 * The benchmark on a cluster with auth on (plain text, so a client certificate's CN cannot stand in
 * for the token): `etcdkit bench --endpoints ... --user root:PW` against etcd 3.4 and etcd-ts, one
 * member each, auth set up by `etcdkit auth apply`. Every request of the gRPC (grpc-js and the HTTP/2
 * load generator), gateway, watch and lease workloads succeeds and the run records auth; without
 * --user the same put workload fails with "user name is empty". `--auth-cost`: the same topology without and
 * then with the auth file applied, in one run, reported as two groups. Flag misuse is refused.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { loadAuthFile } from "../../ansible-free-scripts/auth/auth-file.js";
import { applyAuth } from "../../ansible-free-scripts/auth/auth-apply.js";
import { resolveOptions } from "../../bench/cli.js";
import { planRuns } from "../../bench/runner.js";
import { groupByTopology, groupLabel } from "../../bench/report-common.js";
import type { BenchResultFile } from "../../bench/schema.js";
import { UsageError } from "../../bench/args.js";
import { packageRoot } from "../../server/util/package-root.js";
import { startMember, type Flavor, type MemberProcess } from "../support/launcher.js";

interface Trial {
  ok: number;
  errors: number;
  errorKinds?: Record<string, number>;
}
interface ResultFile {
  runs: { id: string; auth?: boolean; workloads: { name: string; trials: Trial[] }[] }[];
}

const dir = mkdtempSync(join(tmpdir(), "bench-auth-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const bench = (args: string[]) =>
  execa(process.execPath, [join(packageRoot(), "bin", "etcdkit.js"), "bench", "--baseline", "none", "--clients", "4", "--duration", "1", "--trials", "1", "--warmup", "10", "--quiet", ...args], { reject: false });

for (const flavor of ["etcd", "etcd-ts"] as Flavor[]) {
  describe(`bench with auth on, ${flavor}`, { timeout: 240_000 }, () => {
    let m: MemberProcess;
    before(async () => {
      writeFileSync(join(dir, "auth.yaml"), "users:\n  root: { passwordEnv: BENCH_AUTH_PW, roles: [root] }\n");
      m = await startMember(flavor);
      await applyAuth(loadAuthFile(join(dir, "auth.yaml")), { endpoints: [m.endpoint], env: { BENCH_AUTH_PW: "bench-pw" } });
    });
    after(async () => m?.dispose());

    test("--user: every workload's requests carry the token", async () => {
      const out = join(dir, `${flavor}-ok`);
      const r = await bench(["--endpoints", m.clientUrl, "--server", flavor, "--user", "root:bench-pw", "--workloads", "put,range-l,http-put,watch-latency,lease-keepalive", "--out", out]);
      assert.equal(r.exitCode, 0, r.stderr + r.stdout);
      const res = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as ResultFile;
      assert.equal(res.runs[0]!.auth, true);
      for (const w of res.runs[0]!.workloads) {
        const t = w.trials[0]!;
        assert.ok(t.ok > 0 && t.errors === 0, `${w.name}: ${JSON.stringify(t.errorKinds)} ok ${t.ok}`);
      }
    });

    test("without --user the requests are refused", async () => {
      const out = join(dir, `${flavor}-anon`);
      await bench(["--endpoints", m.clientUrl, "--server", flavor, "--workloads", "put", "--out", out]);
      const res = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as ResultFile;
      const t = res.runs[0]!.workloads[0]!.trials[0]!;
      assert.equal(t.ok, 0);
      assert.ok(Object.keys(t.errorKinds ?? {}).some((k) => /user name is empty/.test(k)), JSON.stringify(t.errorKinds));
    });
  });
}

test("flag misuse is refused before anything starts", () => {
  assert.throws(() => resolveOptions({ user: "root:x" }), (e: Error) => e instanceof UsageError && /--user goes with --endpoints or --stack-outputs/.test(e.message));
  assert.throws(() => resolveOptions({ endpoints: ["127.0.0.1:1"], auth: join(dir, "auth.yaml") }), /--auth FILE brings the clusters the bench makes \(local, --target hosts\) up with auth on/);
  assert.throws(() => resolveOptions({ auth: join(dir, "missing.yaml") }), /auth file .*missing\.yaml: ENOENT/);
});

test("--auth-cost plans each topology without and then with auth, for the server and the baseline", () => {
  writeFileSync(join(dir, "plan.yaml"), "users:\n  root: { passwordEnv: BENCH_AUTH_PW, roles: [root] }\n");
  const o = resolveOptions({ auth: join(dir, "plan.yaml"), "auth-cost": true, topologies: ["1", "3"], baseline: "none" });
  assert.deepEqual(o.authModes, ["none", "auth"]);
  assert.deepEqual(
    planRuns({ ...o, baseline: "etcd-ts-other" }, []).map((p) => `${p.members}-${p.server}-${p.auth ? "auth" : "none"}`),
    ["1-etcd-ts-none", "1-etcd-ts-other-none", "1-etcd-ts-auth", "1-etcd-ts-other-auth", "3-etcd-ts-none", "3-etcd-ts-other-none", "3-etcd-ts-auth", "3-etcd-ts-other-auth"],
  );
  // --auth alone: one pass, auth on (the factory applies its file).
  assert.deepEqual(resolveOptions({ auth: join(dir, "plan.yaml") }).authModes, ["auth"]);
  assert.equal(planRuns({ ...resolveOptions({ auth: join(dir, "plan.yaml"), baseline: "none" }), topologies: [1] }, [])[0]!.auth, undefined);
  assert.throws(() => resolveOptions({ "auth-cost": true }), (e: Error) => e instanceof UsageError && /--auth-cost .*--auth FILE/.test(e.message));
});

describe("--auth-cost on a local etcd-ts member", { timeout: 180_000 }, () => {
  // 1 then 3 members: the 3-member clusters reuse the 1-member clusters' ports, so a token left registered
  // for them by the run with auth would reach the 3-member cluster without auth, which refuses it.
  test("each size without auth and then with it, no request refused; the report shows them as separate groups", async () => {
    writeFileSync(join(dir, "cost.yaml"), "users:\n  root: { passwordEnv: BENCH_AUTH_PW, roles: [root] }\n");
    const out = join(dir, "cost");
    const r = await execa(
      process.execPath,
      [join(packageRoot(), "bin", "etcdkit.js"), "bench", "--topologies", "1,3", "--insecure", "--baseline", "none", "--auth", join(dir, "cost.yaml"), "--auth-cost", "--workloads", "put", "--clients", "2", "--duration", "1", "--trials", "1", "--warmup", "10", "--quiet", "--out", out],
      { reject: false, env: { BENCH_AUTH_PW: "cost-pw" } },
    );
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    const res = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as ResultFile & BenchResultFile;
    assert.deepEqual(res.runs.map((x) => [x.id, x.auth ?? false]), [["1-etcd-ts-noauth", false], ["1-etcd-ts-auth", true], ["3-etcd-ts-noauth", false], ["3-etcd-ts-auth", true]]);
    for (const run of res.runs) assert.ok(run.workloads[0]!.trials[0]!.ok > 0 && run.workloads[0]!.trials[0]!.errors === 0, `${run.id}: ${JSON.stringify(run.workloads[0]!.trials[0])}`);
    assert.deepEqual(groupByTopology(res).map(groupLabel), ["1 member, no auth", "1 member, auth", "3 members, no auth", "3 members, auth"]);
    const summary = readFileSync(join(out, "summary.md"), "utf8");
    assert.match(summary, /1 member, no auth/);
    assert.match(summary, /1 member, auth/);
  });
});
