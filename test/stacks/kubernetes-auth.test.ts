/**
 * ETCDKIT_AUTH_FILE on a Kubernetes stack (stacks/constructs/kubernetes/auth-job.ts): what synth emits
 * (a ConfigMap with the re-pointed auth file, a Job on the members' image whose passwords are
 * secretKeyRefs into a Secret made out of band, pod labels no Service selects), no password in any
 * synthesized file, the Secret `etcdkit k8s auth-secret` prints; then the Job's own command, run from
 * the prepared image app with the files and environment its pod would get (the ConfigMap and the TLS
 * Secret written where the kubelet mounts them, each secretKeyRef filled from that Secret, the
 * client Service's URL pointing at the cluster), against a real TLS cluster of etcd-ts and of etcd 3.4.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Testing } from "cdktf";
import { Secret } from "kubernetes-models/v1/Secret";
import { buildApp } from "../../stacks/app.js";
import { readStackOptions } from "../../stacks/options.js";
import { prepareStackPki } from "../../stacks/prepare-pki.js";
import { prepareImageApp } from "../../stacks/image-bundle.js";
import { authSecretManifest } from "../../stacks/cli/k8s-auth-secret.js";
import { preflight } from "../../stacks/cli/cdktf-cli.js";
import { AUTH_MOUNT, KIT_COMMAND } from "../../stacks/constructs/kubernetes/auth-job.js";
import { loadAuthFile, parseAuthSpec } from "../../ansible-free-scripts/auth/auth-file.js";
import { packageRoot } from "../../server/util/package-root.js";
import { parse as parseYaml } from "yaml";
import { caPaths, serverPaths } from "../../pki/layout.js";
import { kubernetesObjects } from "../support/kubernetes-objects.js";
import { TlsCluster } from "../support/tls-cluster.js";
import { haveEtcd, type Flavor } from "../support/launcher.js";
import { etcdctl } from "../support/etcdctl.js";

const ROOT = packageRoot();
const ROOT_PW = "k8s-root-Secret-91f2";
const SVC_PW = "k8s-svc-Secret-3b07";
const dir = mkdtempSync(join(tmpdir(), "k8s-auth-"));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "svc.pw"), SVC_PW + "\n");
const AUTH = join(dir, "auth.yaml");
writeFileSync(AUTH, "users:\n  root: { passwordEnv: K8S_ROOT_PW, roles: [root] }\n  svc: { passwordFile: svc.pw, roles: [svc] }\nroles:\n  svc: { permissions: [{ key: /svc/, prefix: true, type: readwrite }] }\n");
const env = { ETCDKIT_SIZES: "1", ETCDKIT_K8S_SIZES: "1", ETCDKIT_PKI_DIR: join(dir, "pki"), ETCDKIT_AUTH_FILE: AUTH, K8S_ROOT_PW: ROOT_PW };
const PASSWORD_FORMS = [ROOT_PW, SVC_PW, Buffer.from(ROOT_PW).toString("base64"), Buffer.from(SVC_PW).toString("base64")];

type Json = Record<string, any>;
const options = readStackOptions(ROOT, env);
await prepareStackPki(options, () => {});
const outdir = join(dir, "cdktf.out");
const built = buildApp(options, { outdir });
const stack = built.kubernetes[0]!;
const json = JSON.parse(Testing.synth(stack)) as Json;
const objects = kubernetesObjects(json);
const job = objects.jobs[0]!;
const pod = job.spec!.template.spec!;
const container = pod.containers[0]!;

test("synth: a ConfigMap with the re-pointed file and a Job on the members' image, its passwords secretKeyRefs into a Secret made out of band", () => {
  assert.equal(objects.jobs.length, 1);
  assert.equal(job.metadata!.name, "etcd-1-auth");
  assert.equal(container.image, objects.statefulSets[0]!.spec!.template.spec!.containers[0]!.image);
  assert.deepEqual(container.command, [
    ...KIT_COMMAND,
    "auth",
    "apply",
    `${AUTH_MOUNT}/auth.yaml`,
    "--endpoints=https://etcd-1-client.etcd-k8s-1.svc.cluster.local:2379",
    "--wait=600",
    "--cacert=/etc/etcdkit/pki/etcd-1-0/ca.crt",
    "--cert=/etc/etcdkit/pki/etcd-1-0/server.crt",
    "--key=/etc/etcdkit/pki/etcd-1-0/server.key",
  ]);
  assert.deepEqual(
    container.env!.map((e) => [e.name, e.value, e.valueFrom?.secretKeyRef]),
    [
      ["ETCDKIT_AUTH_PASSWORD_0", undefined, { name: "etcd-1-auth", key: "root" }],
      ["ETCDKIT_AUTH_PASSWORD_1", undefined, { name: "etcd-1-auth", key: "svc" }],
    ],
  );
  assert.equal(objects.secrets.filter((s) => s.metadata!.name === "etcd-1-auth").length, 0, "the password Secret is not in the synth");
  assert.equal(json.resource.kubernetes_job_v1[Object.keys(json.resource.kubernetes_job_v1)[0]!].wait_for_completion, false);
  assert.equal(pod.restartPolicy, "OnFailure");
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(container.securityContext!.readOnlyRootFilesystem, true);
  // the file the Job reads: same users and roles, passwords from the Job's variables
  const cm = objects.configMaps[0]!;
  assert.equal(cm.metadata!.name, "etcd-1-auth-file");
  const text = cm.data!["auth.yaml"]!;
  const spec = parseAuthSpec(parseYaml(text), "/x/auth.yaml");
  assert.deepEqual(spec.users.map((u) => [u.name, u.password, u.roles]), [
    ["root", { env: "ETCDKIT_AUTH_PASSWORD_0" }, ["root"]],
    ["svc", { env: "ETCDKIT_AUTH_PASSWORD_1" }, ["svc"]],
  ]);
  assert.deepEqual(spec.roles, loadAuthFile(AUTH).roles);
  // the Job's pod is not a member: no Service or the PDB selects it
  const labels = job.spec!.template.metadata!.labels!;
  const selects = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
  for (const s of objects.services) assert.ok(!selects(s.spec!.selector!), `Service ${s.metadata!.name} does not select the Job's pod`);
  assert.ok(!selects(objects.disruptionBudgets[0]!.spec!.selector!.matchLabels!));
  // every TLS item the Job mounts is a key of the TLS Secret
  const tlsKeys = Object.keys(objects.secrets.find((s) => s.metadata!.name === "etcd-1-tls")!.data!);
  for (const v of pod.volumes!) for (const it of v.secret?.items ?? []) assert.ok(tlsKeys.includes(it.key), it.key);
  const out = json.output.auth.value;
  assert.deepEqual([out.enabled, out.job, out.secret, out.namespace, out.users], [true, "etcd-1-auth", "etcd-1-auth", "etcd-k8s-1", ["root", "svc"]]);
  assert.match(out.make_secret, /etcdkit k8s auth-secret .*auth\.yaml --name etcd-1-auth --namespace etcd-k8s-1 \| kubectl apply -f -$/);
});

test("ETCDKIT_INSECURE=true: the Job talks plaintext to the Service, mounts no certificate", () => {
  const o = readStackOptions(ROOT, { ...env, ETCDKIT_INSECURE: "true" });
  const plain = kubernetesObjects(JSON.parse(Testing.synth(buildApp(o, { outdir: join(dir, "plain.out") }).kubernetes[0]!)) as Json);
  const c = plain.jobs[0]!.spec!.template.spec!.containers[0]!;
  assert.ok(c.command!.includes("--endpoints=http://etcd-1-client.etcd-k8s-1.svc.cluster.local:2379"), c.command!.join(" "));
  assert.ok(!c.command!.some((a) => /^--(cacert|cert|key)=/.test(a)));
  assert.deepEqual(plain.jobs[0]!.spec!.template.spec!.volumes!.map((v) => v.name), ["auth-file"]);
});

test("no password, plain or base64, in any file cdktf synth writes", () => {
  built.app.synth();
  const files = readdirSync(outdir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  assert.ok(files.some((f) => f.includes("etcd-k8s-1")));
  for (const f of files) {
    const t = readFileSync(f, "utf8");
    for (const p of PASSWORD_FORMS) assert.ok(!t.includes(p), `no password in ${f}`);
  }
});

test("etcdkit k8s auth-secret: the Secret, one key per user, from this machine's variables and files; a missing one prints nothing", () => {
  const m = authSecretManifest(AUTH, "etcd-1-auth", "etcd-k8s-1", { K8S_ROOT_PW: ROOT_PW });
  new Secret(m).validate();
  assert.deepEqual(
    Object.fromEntries(Object.entries(m.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()])),
    { root: ROOT_PW, svc: SVC_PW },
  );
  assert.throws(() => authSecretManifest(AUTH, "etcd-1-auth", "etcd-k8s-1", {}), /environment variable K8S_ROOT_PW is not set/);
  assert.throws(() => authSecretManifest(AUTH, "Etcd_1", "etcd-k8s-1", { K8S_ROOT_PW: ROOT_PW }), /--name "Etcd_1" is not a Kubernetes object name/);
  writeFileSync(join(dir, "odd.yaml"), "users:\n  root: { passwordEnv: K8S_ROOT_PW, roles: [root] }\n  'a@b': { passwordEnv: K8S_ROOT_PW }\n");
  assert.throws(() => authSecretManifest(join(dir, "odd.yaml"), "x", "y", { K8S_ROOT_PW: ROOT_PW }), /users\.a@b: .* only letters, digits/);
  // a stack refuses it at synth too (a Secret key, a systemd credential name)
  const odd = readStackOptions(ROOT, { ...env, ETCDKIT_AUTH_FILE: join(dir, "odd.yaml") });
  assert.throws(() => buildApp(odd, { outdir: join(dir, "odd.out") }), /a@b.*only letters, digits/);
});

test("the README's kubectl route makes the same Secret (password files without a trailing newline)", (t) => {
  const kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].find((p) => existsSync(p));
  if (!kubectl) return t.skip("kubectl is not installed");
  writeFileSync(join(dir, "root.pw"), ROOT_PW);
  writeFileSync(join(dir, "svc-exact.pw"), SVC_PW);
  const args = ["-n", "etcd-k8s-1", "create", "secret", "generic", "etcd-1-auth", `--from-file=root=${join(dir, "root.pw")}`, `--from-file=svc=${join(dir, "svc-exact.pw")}`, "--dry-run=client", "-o", "json"];
  const r = spawnSync(kubectl, args, { encoding: "utf8", env: { PATH: process.env.PATH, KUBECONFIG: join(dir, "no-kubeconfig") } });
  assert.equal(r.status, 0, r.stderr);
  const made = JSON.parse(r.stdout) as { data: Record<string, string>; metadata: { name: string; namespace: string } };
  assert.deepEqual([made.metadata.name, made.metadata.namespace], ["etcd-1-auth", "etcd-k8s-1"]);
  assert.deepEqual(made.data, authSecretManifest(AUTH, "etcd-1-auth", "etcd-k8s-1", { K8S_ROOT_PW: ROOT_PW }).data);
});

test("the preflight of etcdkit deploy etcd-k8s-1: no plan to apply from the deploying machine, and the line that makes the Secret", async () => {
  // PATH without terraform: the preflight stops at that problem, after synthesizing the stack
  const r = await preflight("deploy", "etcd-k8s-1", ROOT, { ...env, K8S_ROOT_PW: "", PATH: dirname(process.execPath), TF_PLUGIN_CACHE_DIR: join(dir, "tf-cache") });
  assert.equal(r.plan, undefined, "nothing is applied from the deploying machine");
  assert.match(r.k8sAuthNote!, /the Job etcd-1-auth applies .*auth\.yaml in the cluster once the Secret etcd-1-auth exists/);
  assert.match(r.k8sAuthNote!, /npx etcdkit k8s auth-secret .*auth\.yaml --name etcd-1-auth --namespace etcd-k8s-1 \| kubectl apply -f -/);
});

/** Writes the pod's volumes where the kubelet would mount them, under `podRoot`. */
function mountVolumes(podRoot: string): void {
  const tls = objects.secrets.find((s) => s.metadata!.name === "etcd-1-tls")!;
  const cm = objects.configMaps[0]!;
  for (const vm of container.volumeMounts!) {
    const v = pod.volumes!.find((x) => x.name === vm.name)!;
    const items = v.secret?.items ?? v.configMap?.items ?? [];
    for (const it of items) {
      const text = v.secret ? Buffer.from(tls.data![it.key]!, "base64").toString() : cm.data![it.key]!;
      const p = join(podRoot, vm.mountPath, it.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text, { mode: 0o440 });
    }
  }
}

function run(cmd: string, args: string[], runEnv: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: runEnv, timeout: 90_000 }, (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
  });
}

const flavors: Flavor[] = haveEtcd() ? ["etcd-ts", "etcd"] : ["etcd-ts"];
test("the Job's command, from the image app with its pod's files and env, applies the file to a TLS cluster; a re-run changes nothing", { timeout: 240_000 }, async () => {
  const imageOut = join(dir, "image");
  const app = prepareImageApp({ root: ROOT, out: imageOut, compile: false });
  const podRoot = join(dir, "pod");
  mountVolumes(podRoot);
  const secret = authSecretManifest(AUTH, "etcd-1-auth", "etcd-k8s-1", { K8S_ROOT_PW: ROOT_PW });
  // the container's env as the kubelet builds it: each secretKeyRef read from the Secret, nothing else of this process
  const podEnv: NodeJS.ProcessEnv = Object.fromEntries(container.env!.map((e) => [e.name, Buffer.from(secret.data[e.valueFrom!.secretKeyRef!.key]!, "base64").toString()]));
  const pki = join(dir, "pki", "etcd-k8s-1");
  for (const flavor of flavors) {
    const cluster = await TlsCluster.start({ flavor, size: 1, dir: join(dir, `cluster-${flavor}`), pki, names: ["etcd-1-0"] });
    try {
      const url = cluster.members[0]!.clientUrl;
      // the container's command: node and /app from the image app, mounts under podRoot, the client Service's DNS name -> this cluster
      const args = container.command!.slice(1).map((a) => {
        if (a === KIT_COMMAND[1]) return join(app.dir, "bin", "etcdkit.js");
        if (a.startsWith("--endpoints=")) return `--endpoints=${url}`;
        const m = /^(--[a-z]+=)?(\/etc\/etcdkit\/.*)$/.exec(a);
        return m ? `${m[1] ?? ""}${join(podRoot, m[2]!)}` : a;
      });
      const first = await run(process.execPath, args, podEnv);
      assert.equal(first.code, 0, `${flavor}: ${first.out}`);
      assert.match(first.out, /auth: waiting up to 600 s/);
      assert.match(first.out, /^auth: enable authentication$/m, first.out);
      const again = await run(process.execPath, args, podEnv);
      assert.equal(again.code, 0, again.out);
      assert.match(again.out, /auth: nothing to change/);
      const tlsFlags = [`--cacert=${caPaths(pki).cert}`, `--cert=${serverPaths(pki, "etcd-1-0").cert}`, `--key=${serverPaths(pki, "etcd-1-0").key}`];
      assert.equal((await etcdctl(url, [...tlsFlags, "--user", `svc:${SVC_PW}`, "put", "/svc/a", "1"])).code, 0);
      assert.match((await etcdctl(url, [...tlsFlags, "--user", `svc:${SVC_PW}`, "put", "/other", "1"])).stderr, /permission denied/);
      // a wrong password in the Secret: refused, nothing changed
      const bad = await run(process.execPath, args, { ...podEnv, ETCDKIT_AUTH_PASSWORD_0: "wrong" });
      assert.notEqual(bad.code, 0);
      assert.match(bad.out, /root password from the auth file does not authenticate/);
    } finally {
      await cluster.stop();
    }
  }
});
