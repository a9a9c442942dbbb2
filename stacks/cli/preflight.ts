/**
 * What `cdktf deploy/output/destroy` need before they touch anything: the pinned CDKTF CLI, a
 * Terraform binary, and the stack's providers installable by that Terraform. Each check answers
 * with what is missing and exactly what to install; none changes a deployment (the provider check
 * runs `terraform init -backend=false` on a copy of the synthesized stack in a temp dir).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export interface Problem {
  readonly what: string;
  readonly fix: string;
}

export const TERRAFORM_MIN = "1.2.0";

interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], opts: { cwd?: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: "utf8" }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === "number" ? e.code : -1) : 0, stdout, stderr: e && typeof e.code !== "number" ? `${stderr}${e.message}` : stderr });
    });
  });
}

/** An executable on PATH (or an absolute path), like `command -v`. */
export function onPath(name: string, path = process.env.PATH ?? ""): string | undefined {
  if (name.includes("/")) return existsSync(name) ? name : undefined;
  for (const d of path.split(delimiter).filter(Boolean)) if (existsSync(join(d, name))) return join(d, name);
  return undefined;
}

/** The pinned cdktf CLI of this checkout (node_modules/.bin/cdktf), or why not. */
export function cdktfCli(root: string): { path: string } | Problem {
  const p = join(root, "node_modules", ".bin", "cdktf");
  if (existsSync(p)) return { path: p };
  return { what: "the CDKTF CLI (cdktf-cli 0.21.0, a devDependency of this repo) is not installed", fix: "run `npm ci` in the repo (it installs the pinned CLI into node_modules/.bin/cdktf)" };
}

const versionAtLeast = (v: string, min: string) => {
  const a = v.split(".").map(Number);
  const b = min.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
};

const INSTALL_TERRAFORM =
  `install Terraform ${TERRAFORM_MIN} or newer and put \`terraform\` on PATH: on Debian/Ubuntu from HashiCorp's apt repository ` +
  "(`apt-get install terraform` once the repository is added, see developer.hashicorp.com/terraform/install), or the zip from " +
  "releases.hashicorp.com; or OpenTofu, with TERRAFORM_BINARY_NAME=tofu";

/** The Terraform binary cdktf will run (TERRAFORM_BINARY_NAME, default `terraform`) and its version. */
export async function terraform(env: NodeJS.ProcessEnv): Promise<{ path: string; version: string } | Problem> {
  const name = env.TERRAFORM_BINARY_NAME || "terraform";
  const path = onPath(name, env.PATH);
  if (!path) return { what: `Terraform is not installed: no \`${name}\` on PATH (cdktf deploy, output and destroy run it)`, fix: INSTALL_TERRAFORM };
  const r = await run(path, ["version", "-json"], { env, timeoutMs: 30_000 });
  let version: string | undefined;
  try {
    version = (JSON.parse(r.stdout) as { terraform_version?: string }).terraform_version;
  } catch {
    version = /v?(\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
  }
  if (!version) return { what: `\`${path} version\` did not say its version (exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 200)})`, fix: INSTALL_TERRAFORM };
  if (!versionAtLeast(version, TERRAFORM_MIN)) return { what: `Terraform ${version} at ${path} is older than ${TERRAFORM_MIN}, which cdktf 0.21 needs`, fix: INSTALL_TERRAFORM };
  return { path, version };
}

/** `{source, version}` of every provider the synthesized stack requires. */
export function requiredProviders(stackJson: Record<string, any>): { name: string; source: string; version: string }[] {
  const req = (stackJson.terraform?.required_providers ?? {}) as Record<string, { source: string; version: string }>;
  return Object.entries(req).map(([name, p]) => {
    const source = p.source.includes("/") ? p.source : `hashicorp/${p.source}`;
    return { name, source: source.split("/").length === 2 ? `registry.terraform.io/${source}` : source, version: p.version };
  });
}

/** The first lines of Terraform's own error, flattened (no box-drawing characters). */
function terraformError(text: string): string {
  const from = text.indexOf("Error:");
  const cut = (from >= 0 ? text.slice(from) : text).split(/To see which modules/)[0]!;
  return cut.replace(/[│╷╵]/g, " ").replace(/\s+/g, " ").trim().slice(0, 400);
}

/**
 * Can this Terraform install the stack's providers (registry, mirror, plugin cache, whatever its
 * CLI configuration says)? Runs `terraform init -backend=false` on the stack's JSON, without its
 * backend, in a temp dir that is removed afterwards.
 */
export async function providersInstallable(tf: string, stackName: string, stackJson: Record<string, any>, env: NodeJS.ProcessEnv): Promise<Problem | undefined> {
  const providers = requiredProviders(stackJson);
  if (providers.length === 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "etcdkit-preflight-"));
  try {
    writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ terraform: { required_providers: stackJson.terraform.required_providers } }));
    if (env.TF_PLUGIN_CACHE_DIR) mkdirSync(env.TF_PLUGIN_CACHE_DIR, { recursive: true });
    const r = await run(tf, ["init", "-backend=false", "-input=false", "-no-color"], { cwd: dir, env: { ...env, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" }, timeoutMs: 300_000 });
    if (r.code === 0) return undefined;
    const list = providers.map((p) => `${p.source} ${p.version}`).join(", ");
    return {
      what: `Terraform cannot install the provider${providers.length > 1 ? "s" : ""} stack ${stackName} needs (${list}): ${terraformError(r.stderr || r.stdout)}`,
      fix:
        `make ${providers.length > 1 ? "them" : "it"} available to Terraform: with access to registry.terraform.io nothing more is needed; without it, on a machine that has access run ` +
        `\`terraform providers mirror DIR\` in cdktf.out/stacks/${stackName} (after \`npx tsx stacks/main.ts\`), copy DIR here and add ` +
        `\`provider_installation { filesystem_mirror { path = "DIR" } }\` to the Terraform CLI configuration (~/.terraformrc, or the file TF_CLI_CONFIG_FILE names)`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
