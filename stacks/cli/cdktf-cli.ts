/**
 * `etcdkit deploy|output|destroy STACK [cdktf options]`: the README's CDKTF workflow on a fresh
 * clone. Synthesizes the stacks in-process (same options as `cdktf synth`), checks what the command
 * needs before anything is touched (the pinned CLI, Terraform, the stack's providers, and for a
 * Docker stack that builds the image, the prepared image app) and says exactly what is missing and
 * how to install it; then runs the pinned `cdktf` CLI from node_modules with the same arguments.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { packageRoot } from "../../server/util/package-root.js";
import { buildApp } from "../app.js";
import { IMAGE_CONTEXT_DIR } from "../image-bundle.js";
import { readStackOptions } from "../options.js";
import { EtcdClusterStack } from "../etcd-cluster-stack.js";
import { KubernetesClusterStack } from "../kubernetes-stack.js";
import { authNames } from "../constructs/kubernetes/auth-job.js";
import { dockerTopology } from "../options.js";
import { planTopology, type TopologyPlan } from "../../topology/index.js";
import type { AuthSpec } from "../../ansible-free-scripts/auth/auth-file.js";
import { applyStackAuth, prepareStackAuth } from "./stack-auth.js";
import { cdktfCli, providersInstallable, terraform, type Problem } from "./preflight.js";

export const VERBS = ["deploy", "output", "destroy"] as const;
export type Verb = (typeof VERBS)[number];

const help = (verb: Verb) => `Usage: etcdkit ${verb} STACK [cdktf ${verb} options]

Runs the pinned CDKTF CLI (node_modules/.bin/cdktf, cdktf-cli 0.21.0): cdktf ${verb} STACK [options],
after checking that Terraform and the stack's providers can be had (nothing is touched otherwise).
Stacks: etcd-1, etcd-3, etcd-5, etcd-7 (Docker) and etcd-k8s-1, -3, -5, -7 (Kubernetes), as declared by
the ETCDKIT_* options (stacks/README.md). Examples:

  npx etcdkit deploy etcd-3 --auto-approve
  npx etcdkit output etcd-3 --outputs-file outputs.json     # then: etcdkit bench --stack-outputs outputs.json
  npx etcdkit destroy etcd-3 --auto-approve
`;

export interface PreflightResult {
  readonly problems: readonly Problem[];
  /** A Docker stack's topology (deploy applies ETCDKIT_AUTH_FILE to it). */
  readonly plan?: TopologyPlan;
  /** A Kubernetes stack with ETCDKIT_AUTH_FILE: what deploy tells the user (the Job applies the file, once its Secret exists). */
  readonly k8sAuthNote?: string;
  readonly cdktf?: string;
}

/** Everything `verb` on `stack` needs, checked without changing anything. */
export async function preflight(verb: Verb, stack: string, root: string, env: NodeJS.ProcessEnv): Promise<PreflightResult> {
  const problems: Problem[] = [];
  const outdir = mkdtempSync(join(tmpdir(), "etcdkit-preflight-synth-"));
  let json: Record<string, any> | undefined;
  let buildsImage = false;
  let plan: TopologyPlan | undefined;
  let k8sAuthNote: string | undefined;
  try {
    // Plaintext here: the check needs only the providers and resources, and must not make a PKI
    // (the synth that `cdktf deploy` runs makes it, stacks/main.ts); TLS adds no provider.
    const options = { ...readStackOptions(root, env), insecure: true };
    const { stacks, kubernetes } = buildApp(options, { outdir });
    const all = [...stacks, ...kubernetes];
    const found = all.find((s) => s.node.id === stack);
    if (!found) {
      return { problems: [{ what: `no stack named "${stack}" is declared`, fix: `pick one of ${all.map((s) => s.node.id).join(", ")} (ETCDKIT_SIZES and ETCDKIT_K8S_SIZES choose which are declared)` }] };
    }
    json = JSON.parse(Testing.synth(found)) as Record<string, any>;
    buildsImage = verb === "deploy" && stacks.includes(found as never) && options.build;
    // the check above synthesizes plaintext; the deployed stack's endpoints and TLS come from the real options
    if (found instanceof EtcdClusterStack) plan = planTopology(dockerTopology(found.plan.size, readStackOptions(root, env)));
    if (found instanceof KubernetesClusterStack && found.auth && options.authFile) k8sAuthNote = kubernetesAuthNote(found.plan, options.authFile);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
  const cli = cdktfCli(root);
  if ("what" in cli) problems.push(cli);
  const tf = await terraform(env);
  if ("what" in tf) problems.push(tf);
  else {
    const p = await providersInstallable(tf.path, stack, json, env);
    if (p) problems.push(p);
  }
  if (buildsImage && !existsSync(join(root, IMAGE_CONTEXT_DIR, "app"))) {
    problems.push({ what: `the image build of ${stack} copies ${IMAGE_CONTEXT_DIR}/app, which is not prepared`, fix: "run `npx tsx stacks/image-bundle.ts` first (or ETCDKIT_BUILD=false with an existing ETCDKIT_IMAGE)" });
  }
  return { problems, ...("path" in cli ? { cdktf: cli.path } : {}), ...(plan ? { plan } : {}), ...(k8sAuthNote ? { k8sAuthNote } : {}) };
}

/** After deploying a Kubernetes stack with an auth file: the Job runs in the cluster, its Secret comes from here. */
function kubernetesAuthNote(plan: TopologyPlan, authFile: string): string {
  const n = authNames(plan.kubernetes!);
  const ns = plan.kubernetes!.namespace;
  return (
    `${plan.stackName}: the Job ${n.job} applies ${authFile} in the cluster once the Secret ${n.secret} exists (one key per user: its password). Make it from this machine:\n` +
    `  npx etcdkit k8s auth-secret ${authFile} --name ${n.secret} --namespace ${ns} | kubectl apply -f -\n` +
    `then: kubectl -n ${ns} wait --for=condition=complete job/${n.job} --timeout=15m && kubectl -n ${ns} logs job/${n.job}\n`
  );
}

export function describeProblems(verb: Verb, stack: string, problems: readonly Problem[]): string {
  return (
    `etcdkit ${verb} ${stack}: cannot run cdktf ${verb}; nothing was changed.\n` +
    problems.map((p, i) => `  ${i + 1}. ${p.what}\n     -> ${p.fix}\n`).join("")
  );
}

/** The environment cdktf runs with: a plugin cache (providers downloaded once, for the check and the run), no checkpoint calls. */
export function cdktfEnv(root: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, TF_PLUGIN_CACHE_DIR: env.TF_PLUGIN_CACHE_DIR || join(root, ".etcdkit", "terraform-plugin-cache"), CHECKPOINT_DISABLE: env.CHECKPOINT_DISABLE ?? "1" };
}

export async function main(verb: Verb, argv: string[], root = packageRoot(), baseEnv: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [stack, ...rest] = argv;
  if (!stack || stack === "--help" || stack === "-h") {
    process.stdout.write(help(verb));
    return stack ? 0 : 2;
  }
  const env = cdktfEnv(root, baseEnv);
  let result: PreflightResult;
  try {
    result = await preflight(verb, stack, root, env);
  } catch (e) {
    process.stderr.write(`etcdkit ${verb} ${stack}: ${(e as Error).message}\n`);
    return 2;
  }
  if (result.problems.length > 0) {
    process.stderr.write(describeProblems(verb, stack, result.problems));
    return 3;
  }
  let auth: AuthSpec | undefined;
  try {
    const authFile = readStackOptions(root, env).authFile;
    // Docker: applied from here after cdktf deploy; Kubernetes: by the stack's Job (its passwords come from a Secret, not from here).
    auth = verb === "deploy" && result.plan ? prepareStackAuth(authFile, env) : undefined;
  } catch (e) {
    process.stderr.write(`etcdkit ${verb} ${stack}: ${(e as Error).message}\n`);
    return 2;
  }
  const code = await runCdktf(result.cdktf!, verb, stack, rest, root, env);
  if (code === 0 && verb === "deploy" && result.k8sAuthNote) process.stdout.write(result.k8sAuthNote);
  if (code !== 0 || !auth) return code;
  try {
    await applyStackAuth(auth, result.plan!, env, (l) => process.stdout.write(`${l}\n`));
    return 0;
  } catch (e) {
    process.stderr.write(`etcdkit deploy ${stack}: the stack is up but its auth file was not applied: ${(e as Error).message}\n`);
    return 1;
  }
}

function runCdktf(cdktf: string, verb: Verb, stack: string, rest: string[], root: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise<number>((resolve) => {
    const child = spawn(cdktf, [verb, stack, ...rest], { cwd: root, env, stdio: "inherit" });
    child.on("error", (e) => {
      process.stderr.write(`etcdkit ${verb}: cannot run ${cdktf}: ${e.message}\n`);
      resolve(1);
    });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
