/**
 * The Kubernetes stack's pod spec run on the real Docker engine: the StatefulSet's container is
 * taken from the synthesized etcd-k8s-3 stack (translated to the Kubernetes API objects and
 * validated, test/support/kubernetes-objects.ts) and each pod becomes a container as the kubelet
 * would make it: the same command (entrypoint + rest), the env with the downward-API POD_NAME
 * filled in and $(VAR) expanded as Kubernetes expands it, user/group, read-only root, dropped
 * capabilities, no-new-privileges, the memory limit, the volume claim as a Docker volume at the
 * mount path, and the pod's DNS name `<pod>.<peer service>.<namespace>.svc.cluster.local` as a
 * network alias on a network of its own (what the headless Service gives). Probes are run as the
 * kubelet would, as HTTP GETs inside the container (exec'd node, the image has no shell).
 *
 * Checked: the three members form a cluster (readiness on all, member list, put/get across
 * members); scale-up: pod etcd-3-3 from the replicas=4 stack adds itself with MemberAdd and
 * joins; scale-down: `etcdkit k8s scale-down --to 3` removes it first; a restarted pod restarts
 * from its volume; teardown leaves nothing. Client ports are published on 127.0.0.1 only for the
 * test's etcdctl (what `kubectl port-forward` gives).
 *
 * TLS, the default: the stack's PKI is made as `cdktf synth` makes it (in a temp dir of the run), the
 * TLS Secret is put into each pod as the kubelet puts a Secret volume (each item at its path, the
 * volume's mode, group-owned by the pod's fsGroup, which the container gets as a supplementary group;
 * read-only at the declared mount path), the peers talk https, and the test's etcdctl and cluster
 * client present the stack's root client certificate.
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { packageRoot } from "../../server/util/package-root.js";
import { buildApp } from "../../stacks/app.js";
import { prepareImageApp } from "../../stacks/image-bundle.js";
import { readStackOptions } from "../../stacks/options.js";
import { prepareStackPki } from "../../stacks/prepare-pki.js";
import type { ClientTlsFiles } from "../../ansible-free-scripts/common/health.js";
import { resolvePodEnv, type PodEnvVar } from "../../stacks/kubernetes/pod-env.js";
import { grpcClusterClient } from "../../stacks/pod/cluster-client.js";
import { scaleDown } from "../../stacks/pod/scale-down.js";
import { etcdctl } from "../support/etcdctl.js";
import { kubernetesObjects } from "../support/kubernetes-objects.js";
import { importBaseImage } from "./base-image.js";
import { sleep, waitFor } from "./cluster.js";
import { ensureEngine, type Docker, type Engine } from "./docker.js";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Testing } from "cdktf";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { ISecret } from "kubernetes-models/v1/Secret";

const ROOT = packageRoot();
const BASE_IMAGE = "etcdkit-base:local";
const IMAGE = "etcd-ts:local";
const LABEL = "etcdkit.test=kubernetes-pods";
const NETWORK = "etcdkit-k8s-pods";
const T0 = Date.now();
const log = (line: string) => console.log(`[k8s-pods +${((Date.now() - T0) / 1000).toFixed(1)}s] ${line}`);

// The stack's PKI (made at synth as `cdktf synth` does), in a folder of this run removed at the end.
const PKI_ROOT = mkdtempSync(join(tmpdir(), "etcdkit-k8s-pods-pki-"));

interface Synthesized {
  readonly sts: IStatefulSet;
  readonly namespace: string;
  /** The TLS Secret as the API server would get it (TLS, the default). */
  readonly secret: ISecret;
  /** The stack's root client certificate (what `etcdkit` clients and the test's etcdctl present). */
  readonly clientTls: ClientTlsFiles;
}

/** The etcd-k8s-3 StatefulSet and its TLS Secret as the API server would get them, with `replicas` pods. */
async function statefulSet(replicas: number): Promise<Synthesized> {
  const outdir = mkdtempSync(join(tmpdir(), "etcdkit-k8s-pods-synth-"));
  try {
    const env = { ETCDKIT_SIZES: "1", ETCDKIT_K8S_SIZES: "3", ETCDKIT_K8S_REPLICAS_3: String(replicas), ETCDKIT_K8S_IMAGE: IMAGE, ETCDKIT_PKI_DIR: PKI_ROOT };
    const options = readStackOptions(ROOT, env);
    await prepareStackPki(options, log);
    const { kubernetes } = buildApp(options, { outdir });
    const o = kubernetesObjects(JSON.parse(Testing.synth(kubernetes[0]!)));
    const plan = kubernetes[0]!.plan;
    assert.ok(plan.clientTls && !plan.insecure, "the stack is planned with TLS");
    assert.equal(o.secrets.length, 1, "one TLS Secret");
    return { sts: o.statefulSets[0]!, namespace: plan.kubernetes!.namespace, secret: o.secrets[0]!, clientTls: { ca: plan.clientTls.ca, cert: plan.clientTls.cert, key: plan.clientTls.key } };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * The pod's Secret volume as the kubelet makes it: each item's key written at its path under a folder
 * of this run, with the volume's defaultMode, group-owned by the pod's fsGroup (the kubelet chowns
 * Secret files to fsGroup); returned with the mount point, bind-mounted read-only into the container.
 */
function secretVolume(sts: IStatefulSet, secret: ISecret, dir: string): { source: string; target: string; group: number } {
  const podSpec = sts.spec!.template.spec!;
  const c = podSpec.containers[0]!;
  const vol = (podSpec.volumes ?? []).find((v) => v.secret);
  assert.ok(vol?.secret, "the pod spec mounts the TLS Secret");
  assert.equal(vol.secret.secretName, secret.metadata!.name);
  const mount = c.volumeMounts!.find((m) => m.name === vol.name)!;
  assert.equal(mount.readOnly, true, "the Secret is mounted read-only");
  const group = Number(podSpec.securityContext!.fsGroup);
  const mode = vol.secret.defaultMode ?? 0o644;
  for (const item of vol.secret.items ?? []) {
    const data = secret.data?.[item.key];
    assert.ok(data !== undefined, `Secret key ${item.key}`);
    const file = join(dir, item.path);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, Buffer.from(data, "base64"), { mode });
    chmodSync(file, mode);
    chownSync(file, 0, group);
  }
  return { source: dir, target: mount.mountPath, group };
}

/** Debian's etcdctl over https with the stack's root client certificate. */
const ctl = (endpoint: string, args: readonly string[]) => {
  const t = threeSynth.clientTls;
  return etcdctl(endpoint, [`--cacert=${t.ca}`, `--cert=${t.cert}`, `--key=${t.key}`, ...args]);
};

const BYTES: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
const bytes = (q: string) => {
  const m = /^(\d+)(Ki|Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`quantity ${q}: teach the test`);
  return Number(m[1]) * BYTES[m[2]!]!;
};

interface Pod {
  readonly name: string;
  readonly container: string;
  readonly volume: string;
  readonly fqdn: string;
  clientUrl?: string;
}

const threeSynth = await statefulSet(3);
const fourSynth = await statefulSet(4);

describe("Kubernetes pod spec on Docker: etcd-k8s-3's pods form a cluster, scale up and down through membership", { timeout: 15 * 60_000 }, () => {
  let engine: Engine | undefined;
  let docker: Docker;
  let skip: string | undefined;
  const pods = new Map<string, Pod>();
  const three = threeSynth;
  const four = fourSynth;

  before(async () => {
    const e = await ensureEngine(log);
    if ("skip" in e) {
      skip = `no Docker engine: ${e.skip}`;
      return;
    }
    engine = e;
    docker = e.docker;
    log(`engine: ${e.description}`);
  });

  after(async () => {
    rmSync(PKI_ROOT, { recursive: true, force: true });
    if (!engine) return;
    try {
      for (const p of pods.values()) await docker.run(["rm", "--force", p.container], { allowFail: true });
      for (const p of pods.values()) await docker.run(["volume", "rm", "--force", p.volume], { allowFail: true });
      await docker.run(["network", "rm", NETWORK], { allowFail: true });
      const left = [
        ...(await docker.out(["ps", "-a", "--filter", `label=${LABEL}`, "--format", "{{.Names}}"])).split("\n"),
        ...(await docker.out(["volume", "ls", "--filter", `label=${LABEL}`, "--format", "{{.Name}}"])).split("\n"),
        ...(await docker.out(["network", "ls", "--filter", `label=${LABEL}`, "--format", "{{.Name}}"])).split("\n"),
      ].filter(Boolean);
      assert.deepEqual(left, [], "teardown leaves no container, volume or network");
      log("torn down: no container, volume or network left");
    } finally {
      await engine.stop();
    }
  });

  /** `docker create` + `start` of pod `name` exactly as the StatefulSet's template describes it. */
  async function runPod(synth: Synthesized, ordinal: number): Promise<Pod> {
    const { sts, namespace } = synth;
    const spec = sts.spec!;
    const name = `${sts.metadata!.name}-${ordinal}`;
    const podSpec = spec.template.spec!;
    assert.equal(podSpec.containers.length, 1);
    const c: IContainer = podSpec.containers[0]!;
    const env: PodEnvVar[] = (c.env ?? []).map((e) => (e.valueFrom?.fieldRef ? { name: e.name, fieldPath: e.valueFrom.fieldRef.fieldPath } : { name: e.name, value: e.value ?? "" }));
    const resolved = resolvePodEnv(env, { "metadata.name": name });
    const [claim] = spec.volumeClaimTemplates!;
    const mount = c.volumeMounts!.find((m) => m.name === claim!.metadata!.name)!;
    const fqdn = `${name}.${spec.serviceName}.${namespace}.svc.cluster.local`;
    const clientPort = c.ports!.find((p) => p.name === "client")!.containerPort;
    const sc = c.securityContext!;
    const psc = podSpec.securityContext!;
    const [entry, ...cmdRest] = c.command!;
    const pod: Pod = { name, container: `etcdkit-k8s-${name}`, volume: `etcdkit-k8s-data-${name}`, fqdn };
    const tls = secretVolume(sts, synth.secret, join(PKI_ROOT, "pods", name));
    pods.set(name, pod);
    await docker.run(["volume", "create", "--label", LABEL, pod.volume]);
    await docker.run([
      "create",
      "--name",
      pod.container,
      "--label",
      LABEL,
      "--hostname",
      name, // the kubelet sets the pod's hostname to its name
      "--network",
      NETWORK,
      "--network-alias",
      fqdn, // what the headless Service's DNS record gives
      "--restart",
      "always", // a StatefulSet's pods have restartPolicy Always
      "--user",
      `${psc.runAsUser}:${psc.runAsGroup}`,
      ...(sc.readOnlyRootFilesystem ? ["--read-only"] : []),
      ...(sc.capabilities?.drop?.includes("ALL") ? ["--cap-drop", "ALL"] : []),
      ...(sc.allowPrivilegeEscalation === false ? ["--security-opt", "no-new-privileges"] : []),
      "--memory",
      String(bytes(String(c.resources!.limits!.memory))),
      "--mount",
      `type=volume,source=${pod.volume},target=${mount.mountPath}`,
      "--mount",
      `type=bind,source=${tls.source},target=${tls.target},readonly`,
      "--group-add",
      String(tls.group), // the kubelet adds the pod's fsGroup, which owns the Secret's files
      "--publish",
      `127.0.0.1::${clientPort}`,
      ...[...resolved].flatMap(([k, v]) => ["--env", `${k}=${v}`]),
      "--entrypoint",
      entry!,
      c.image!,
      ...cmdRest,
      ...(c.args ?? []),
    ]);
    await docker.run(["start", pod.container]);
    await refreshUrl(pod);
    return pod;
  }

  /** The published client port (Docker picks a new one when the container restarts). */
  async function refreshUrl(pod: Pod): Promise<string> {
    const published = await docker.out(["port", pod.container, "2379/tcp"]);
    pod.clientUrl = `https://${published.split("\n")[0]!.trim()}`;
    return pod.clientUrl;
  }

  /**
   * A probe as the kubelet runs it, inside the pod: an exec probe's command as declared (the stacks'
   * probes are exec probes since TLS: httpGet cannot present a client certificate), or an HTTP GET
   * of the probe's path on the named port (exec'd node).
   */
  async function probe(pod: Pod, which: "startupProbe" | "livenessProbe" | "readinessProbe", sts: IStatefulSet): Promise<boolean> {
    const c = sts.spec!.template.spec!.containers[0]!;
    const command = c[which]!.exec?.command;
    if (command) {
      const r = await docker.run(["exec", pod.container, ...command], { allowFail: true, timeoutMs: (c[which]!.timeoutSeconds ?? 1) * 1000 + 10_000 });
      return r.code === 0;
    }
    const h = c[which]!.httpGet!;
    const port = typeof h.port === "number" ? h.port : c.ports!.find((p) => p.name === h.port)!.containerPort;
    const code = `fetch('http://127.0.0.1:${port}${h.path}').then(r=>process.exit(r.status>=200&&r.status<400?0:1),()=>process.exit(1))`;
    const r = await docker.run(["exec", pod.container, "node", "-e", code], { allowFail: true, timeoutMs: (c[which]!.timeoutSeconds ?? 1) * 1000 + 10_000 });
    return r.code === 0;
  }

  const logsOf = async (names: string[]) => (await Promise.all(names.map(async (n) => `--- ${n}\n${await docker.logs(pods.get(n)!.container, 12)}`))).join("\n");
  const memberList = async (url: string) => (await grpcClusterClient(3000, three.clientTls).members(url)).map((m) => ({ name: m.name, peer: m.peerUrls.join(",") })).sort((a, b) => a.name.localeCompare(b.name));

  const needEngine = (t: TestContext) => {
    if (skip) t.skip(skip);
    return !skip;
  };

  test("the image (offline base) and the pods' network", async (t) => {
    if (!needEngine(t)) return;
    await importBaseImage(docker, BASE_IMAGE);
    prepareImageApp({ root: ROOT });
    await docker.run(["build", "--build-arg", `BASE_IMAGE=${BASE_IMAGE}`, "--tag", IMAGE, "--label", LABEL, ROOT], { timeoutMs: 300_000, env: { DOCKER_BUILDKIT: "0" } });
    const entry = three.sts.spec!.template.spec!.containers[0]!.command!;
    const r = await docker.run(["run", "--rm", "--entrypoint", "node", IMAGE, "-e", `process.exit(require('fs').existsSync(${JSON.stringify(entry[1])})?0:1)`], { allowFail: true });
    assert.equal(r.code, 0, `the pod's command ${entry.join(" ")} is in the image`);
    await docker.run(["network", "create", "--label", LABEL, NETWORK]);
  });

  test("the three pods form a cluster: probes pass, member list by pod names and DNS names, put/get across members", async (t) => {
    if (!needEngine(t)) return;
    const { sts } = three;
    assert.equal(sts.spec!.replicas, 3);
    for (let i = 0; i < 3; i++) await runPod(three, i);
    const names = ["etcd-3-0", "etcd-3-1", "etcd-3-2"];
    const ready = await waitFor(async () => (await Promise.all(names.map((n) => probe(pods.get(n)!, "readinessProbe", sts)))).every(Boolean), 90_000, 1000);
    assert.ok(ready, `readiness (/readyz) not passed on all three pods\n${await logsOf(names)}`);
    for (const n of names) {
      assert.ok(await probe(pods.get(n)!, "livenessProbe", sts), `${n} liveness`);
      assert.ok(await probe(pods.get(n)!, "startupProbe", sts), `${n} startup`);
    }
    const url0 = pods.get("etcd-3-0")!.clientUrl!;
    assert.deepEqual(await memberList(url0), names.map((n) => ({ name: n, peer: `https://${pods.get(n)!.fqdn}:2380` })));
    let r = await ctl(url0, ["put", "k8s/key", "from-pod-0"]);
    assert.equal(r.code, 0, r.stderr);
    for (const n of names.slice(1)) {
      r = await ctl(pods.get(n)!.clientUrl!, ["get", "k8s/key", "--print-value-only"]);
      assert.equal(r.stdout.trim(), "from-pod-0", `${n}: ${r.stderr}`);
    }
    log("etcd-k8s-3: three pods from the StatefulSet's template formed a cluster; put on etcd-3-0 read on the others");
  });

  test("scale-up: pod etcd-3-3 of the replicas=4 StatefulSet adds itself with MemberAdd and joins", async (t) => {
    if (!needEngine(t)) return;
    const { sts } = four;
    // Same template but for the TLS Secret's items: the replicas=4 stack also mounts etcd-3-3's files.
    const items = (x: IStatefulSet) => x.spec!.template.spec!.volumes!.find((v) => v.secret)!.secret!.items!;
    const withoutItems = (x: IStatefulSet) => JSON.parse(JSON.stringify(x.spec!.template, (k, v) => (k === "items" ? undefined : v)));
    assert.deepEqual(withoutItems(sts), withoutItems(three.sts));
    assert.deepEqual(items(sts).filter((i) => !i.path.startsWith("etcd-3-3/")), items(three.sts));
    assert.deepEqual(items(sts).filter((i) => i.path.startsWith("etcd-3-3/")).map((i) => i.path).sort(), ["ca.crt", "peer.crt", "peer.key", "server.crt", "server.key"].map((f) => `etcd-3-3/${f}`));
    assert.equal(sts.spec!.replicas, 4);
    const pod = await runPod(four, 3);
    const ok = await waitFor(() => probe(pod, "readinessProbe", sts), 120_000, 1000);
    assert.ok(ok, `etcd-3-3 not ready\n${await logsOf(["etcd-3-3", "etcd-3-0"])}`);
    const logs = await docker.logs(pod.container, 200);
    assert.match(logs, /added this member to the cluster/);
    const list = await memberList(pods.get("etcd-3-0")!.clientUrl!);
    assert.deepEqual(list.map((m) => m.name), ["etcd-3-0", "etcd-3-1", "etcd-3-2", "etcd-3-3"]);
    const r = await ctl(pod.clientUrl!, ["get", "k8s/key", "--print-value-only"]);
    assert.equal(r.stdout.trim(), "from-pod-0");
    log("scale-up: etcd-3-3 joined through MemberAdd (4 members), reads the data");
  });

  test("a restarted pod restarts from its volume (the --initial-* settings ignored)", async (t) => {
    if (!needEngine(t)) return;
    const p = pods.get("etcd-3-1")!;
    await docker.run(["restart", "--time", "10", p.container]);
    assert.ok(await waitFor(() => probe(p, "readinessProbe", three.sts), 60_000, 1000), `etcd-3-1 not ready after restart\n${await logsOf(["etcd-3-1"])}`);
    assert.match(await docker.logs(p.container, 400), /"start":"restart"/);
    const r = await ctl(await refreshUrl(p), ["get", "k8s/key", "--print-value-only"]);
    assert.equal(r.stdout.trim(), "from-pod-0");
  });

  test("scale-down: members at ordinal >= 3 removed first (etcdkit k8s scale-down), then the pod and its claim go", async (t) => {
    if (!needEngine(t)) return;
    const endpoints = ["etcd-3-0", "etcd-3-1", "etcd-3-2", "etcd-3-3"].map((n) => pods.get(n)!.clientUrl!);
    const lines: string[] = [];
    const plan = await scaleDown(endpoints, "etcd-3", 3, { client: grpcClusterClient(3000, three.clientTls), sleep: async (ms) => void (await sleep(ms)), log: (l) => lines.push(l) });
    assert.deepEqual(plan.remove.map((r) => r.name), ["etcd-3-3"]);
    const list = await memberList(endpoints[0]!);
    assert.deepEqual(list.map((m) => m.name), ["etcd-3-0", "etcd-3-1", "etcd-3-2"]);
    // What the StatefulSet does at replicas=3 with whenScaled: Delete.
    const p = pods.get("etcd-3-3")!;
    await docker.run(["rm", "--force", p.container]);
    await docker.run(["volume", "rm", p.volume]);
    const r = await ctl(endpoints[1]!, ["put", "k8s/key", "after-scale-down"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await ctl(endpoints[2]!, ["get", "k8s/key", "--print-value-only"])).stdout.trim(), "after-scale-down");
    log(`scale-down: ${lines.join("; ")}; the three remaining members take writes`);
  });
});
