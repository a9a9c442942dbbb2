/**
 * ETCDKIT_AUTH_FILE on the stacks: the synthesized JSON (every stack, every file `cdktf synth` writes,
 * bare-host files included) names the auth file and its users but holds none of its passwords; a
 * file with a clear-text password is refused at synth; `etcdkit deploy`'s post-deploy step waits for
 * health and applies the file (here to a real etcd-ts member standing in for a deployed stack).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { buildApp } from "../../stacks/app.js";
import { readStackOptions } from "../../stacks/options.js";
import { prepareStackPki } from "../../stacks/prepare-pki.js";
import { applyStackAuth, prepareStackAuth } from "../../stacks/cli/stack-auth.js";
import { packageRoot } from "../../server/util/package-root.js";
import type { TopologyPlan } from "../../topology/index.js";
import { etcdctl } from "../support/etcdctl.js";
import { startMember } from "../support/launcher.js";

const ROOT_PW = "stack-root-Secret-5d1e";
const SVC_PW = "stack-svc-Secret-a77c";
const dir = mkdtempSync(join(tmpdir(), "stack-auth-"));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "svc.pw"), SVC_PW + "\n");
writeFileSync(join(dir, "auth.yaml"), "users:\n  root: { passwordEnv: STACK_ROOT_PW, roles: [root] }\n  svc: { passwordFile: svc.pw, roles: [svc] }\nroles:\n  svc: { permissions: [{ key: /svc/, prefix: true, type: readwrite }] }\n");
const env = { ETCDKIT_PKI_DIR: join(dir, "pki"), ETCDKIT_K8S_SIZES: "1", ETCDKIT_AUTH_FILE: join(dir, "auth.yaml"), STACK_ROOT_PW: ROOT_PW };

function filesUnder(d: string): string[] {
  return readdirSync(d, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

test("the synth names the auth file and users, never a password", async () => {
  const options = readStackOptions(packageRoot(), env);
  await prepareStackPki(options, () => {});
  const outdir = join(dir, "cdktf.out");
  const { app, stacks } = buildApp(options, { outdir });
  for (const s of stacks) {
    const synth = Testing.synth(s);
    assert.ok(!synth.includes(ROOT_PW) && !synth.includes(SVC_PW), `${s.node.id}: no password in the synth`);
    const out = (JSON.parse(synth) as { output: Record<string, { value: unknown }> }).output.auth!.value;
    assert.deepEqual(out, { enabled: true, file: join(dir, "auth.yaml"), users: ["root", "svc"] });
  }
  app.synth();
  const files = filesUnder(outdir);
  assert.ok(files.length > 4, "cdktf synth wrote the stacks");
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    assert.ok(!text.includes(ROOT_PW) && !text.includes(SVC_PW), `no password in ${f}`);
  }
  // the same check as a user would run it
  assert.ok(files.some((f) => readFileSync(f, "utf8").includes("auth.yaml")), "the auth file is named");
});

test("refused at synth: a clear-text password; at deploy, before cdktf runs: a password that cannot be read", () => {
  writeFileSync(join(dir, "bad.yaml"), "users:\n  root: { password: hunter2, roles: [root] }\n");
  assert.throws(() => readStackOptions(packageRoot(), { ...env, ETCDKIT_AUTH_FILE: join(dir, "bad.yaml") }), /ETCDKIT_AUTH_FILE: auth file: users\.root\.password: passwords are never written in the file/);
  assert.throws(() => prepareStackAuth(join(dir, "auth.yaml"), {}), /environment variable STACK_ROOT_PW is not set/);
  assert.equal(prepareStackAuth(undefined, {}), undefined);
});

test("after deploy: waits for health, applies the file; a second deploy changes nothing", { timeout: 60_000 }, async () => {
  const m = await startMember("etcd-ts");
  try {
    const spec = prepareStackAuth(join(dir, "auth.yaml"), env)!;
    // the fields of a Docker stack's plan the step reads (a real stack needs Docker images this machine cannot pull)
    const plan = { stackName: "etcd-1", endpoints: [m.clientUrl] } as unknown as TopologyPlan;
    const lines: string[] = [];
    await applyStackAuth(spec, plan, env, (l) => lines.push(l));
    assert.ok(lines.includes("auth: enable authentication"), lines.join("\n"));
    lines.length = 0;
    await applyStackAuth(spec, plan, env, (l) => lines.push(l));
    assert.match(lines.at(-1)!, /^auth: nothing to change/);
    const r = await etcdctl(m.endpoint, ["--user", `svc:${SVC_PW}`, "put", "/other", "x"]);
    assert.match(r.stderr, /Error: etcdserver: permission denied/);
  } finally {
    await m.dispose();
  }
});
