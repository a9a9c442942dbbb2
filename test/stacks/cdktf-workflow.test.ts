/**
 * The README's CDKTF workflow on a fresh clone: the pinned CLI is installed by `npm ci`, and
 * `etcdkit deploy|output|destroy` say exactly what is missing (Terraform, a provider) and what to
 * install, before anything is touched. No network: the provider case points Terraform at an empty
 * filesystem mirror, so it never asks a registry.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";
import { onPath } from "../../stacks/cli/preflight.js";

const ROOT = packageRoot();
const etcdkit = (args: string[], env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [join(ROOT, "bin", "etcdkit.js"), ...args], { cwd: ROOT, env, encoding: "utf8", timeout: 120_000 });

test("the CDKTF CLI is a pinned dependency matching the cdktf library", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const lib = JSON.parse(readFileSync(join(ROOT, "node_modules", "cdktf", "package.json"), "utf8")).version as string;
  assert.equal(pkg.devDependencies["cdktf-cli"], lib, "cdktf-cli pinned to the cdktf version in use");
  const r = spawnSync(join(ROOT, "node_modules", ".bin", "cdktf"), ["--version"], { encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1" } });
  assert.equal(r.stdout.trim().split("\n")[0], lib);
});

test("no Terraform on PATH: etcdkit deploy says so and what to install, changes nothing, exits 3", () => {
  const dir = mkdtempSync(join(tmpdir(), "etcdkit-noterraform-"));
  try {
    // A PATH with node only: no terraform.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const state = join(dir, "state");
    const env = { ...process.env, PATH: `${bin}:${dirname(process.execPath)}`, ETCDKIT_STATE_DIR: state, TF_PLUGIN_CACHE_DIR: join(dir, "cache") };
    assert.equal(onPath("terraform", env.PATH), undefined, "the test PATH has no terraform");
    for (const stack of ["etcd-k8s-3", "etcd-1"]) {
      const r = etcdkit(["deploy", stack, "--auto-approve"], env);
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, new RegExp(`etcdkit deploy ${stack}: cannot run cdktf deploy; nothing was changed`));
      assert.match(r.stderr, /Terraform is not installed: no `terraform` on PATH/);
      assert.match(r.stderr, /install Terraform 1\.2\.0 or newer .*apt-get install terraform.*releases\.hashicorp\.com.*TERRAFORM_BINARY_NAME=tofu/);
    }
    const out = etcdkit(["destroy", "etcd-k8s-1"], env);
    assert.equal(out.status, 3);
    assert.ok(!existsSync(state), "no state was written");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Terraform without the providers (an empty mirror, no registry): the provider is named with the mirror recipe, exit 3", (t) => {
  const tf = onPath("terraform");
  if (!tf) return t.skip("terraform is not installed here (the no-terraform case above still runs)");
  const dir = mkdtempSync(join(tmpdir(), "etcdkit-nomirror-"));
  try {
    const mirror = join(dir, "mirror");
    mkdirSync(mirror);
    const rc = join(dir, "terraformrc");
    writeFileSync(rc, `provider_installation {\n  filesystem_mirror {\n    path = "${mirror}"\n  }\n}\n`);
    const env = { ...process.env, TF_CLI_CONFIG_FILE: rc, TF_PLUGIN_CACHE_DIR: join(dir, "cache"), ETCDKIT_STATE_DIR: join(dir, "state") };
    const k8s = etcdkit(["deploy", "etcd-k8s-1"], env);
    assert.equal(k8s.status, 3, k8s.stderr);
    assert.match(k8s.stderr, /Terraform cannot install the provider stack etcd-k8s-1 needs \(registry\.terraform\.io\/hashicorp\/kubernetes 2\.38\.0\)/);
    assert.match(k8s.stderr, /terraform providers mirror DIR.*filesystem_mirror/);
    const docker = etcdkit(["output", "etcd-3"], env);
    assert.equal(docker.status, 3, docker.stderr);
    assert.match(docker.stderr, /kreuzwerker\/docker 3\.6\.2/);
    assert.ok(!existsSync(join(dir, "state")), "no state was written");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an unknown stack is named with the declared ones; --help for each verb", () => {
  const r = etcdkit(["deploy", "etcd-9"], { ...process.env, PATH: dirname(process.execPath) });
  assert.equal(r.status, 3);
  assert.match(r.stderr, /no stack named "etcd-9" is declared.*etcd-1, etcd-3, etcd-5, etcd-7, etcd-k8s-1, etcd-k8s-3, etcd-k8s-5, etcd-k8s-7/s);
  for (const v of ["deploy", "output", "destroy"]) {
    const h = etcdkit([v, "--help"], process.env);
    assert.equal(h.status, 0);
    assert.match(h.stdout, new RegExp(`Usage: etcdkit ${v} STACK`));
  }
  const k = etcdkit(["k8s", "scale-down", "--help"], process.env);
  assert.equal(k.status, 0);
  assert.match(k.stdout, /Usage: etcdkit k8s scale-down --to N/);
});
