/**
 * The Kubernetes stacks etcd-k8s-1/3/5/7, synthesized in-process (no Terraform, no cluster): each
 * resource checked with cdktf's Testing helpers, then translated to the Kubernetes API objects and
 * validated against the Kubernetes schemas (kubernetes-models), and the pod template expanded per
 * pod as Kubernetes expands it, which must give each member exactly its settings in the model.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1/index.js";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1/index.js";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1/index.js";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1/index.js";
import { buildApp } from "../../stacks/app.js";
import { prepareStackPki } from "../../stacks/prepare-pki.js";
import { readStackOptions } from "../../stacks/options.js";
import { POD_ENTRY_COMMAND } from "../../stacks/constructs/kubernetes/member-statefulset.js";
import { expandKubernetesVars, resolvePodEnv, type PodEnvVar } from "../../stacks/kubernetes/pod-env.js";
import { packageRoot } from "../../server/util/package-root.js";
import { parseConfig } from "../../server/config/parse.js";
import { endpointsFromStackOutputs } from "../../bench/target.js";
import { kubernetesObjects } from "../support/kubernetes-objects.js";
import type { IContainer } from "kubernetes-models/v1/Container";

const ROOT = packageRoot();
type Json = Record<string, any>;
// The stacks' PKI in a temporary folder (cdktf synth makes it under .etcdkit/pki).
const PKI_ROOT = mkdtempSync(join(tmpdir(), "etcdkit-k8s-pki-"));
after(() => rmSync(PKI_ROOT, { recursive: true, force: true }));
const synthAll = async (env: Record<string, string>) => {
  const outdir = mkdtempSync(join(tmpdir(), "etcdkit-k8s-synth-"));
  try {
    const options = readStackOptions(ROOT, { ETCDKIT_SIZES: "1", ETCDKIT_PKI_DIR: PKI_ROOT, ...env });
    await prepareStackPki(options, () => {});
    const { kubernetes } = buildApp(options, { outdir });
    return kubernetes.map((s) => ({ stack: s, raw: Testing.synth(s), json: JSON.parse(Testing.synth(s)) as Json }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
};

/** The container env as a pod of that name gets it from the API objects. */
function podEnvOf(c: IContainer, podName: string): Record<string, string> {
  const env: PodEnvVar[] = (c.env ?? []).map((e) => (e.valueFrom?.fieldRef ? { name: e.name, fieldPath: e.valueFrom.fieldRef.fieldPath } : { name: e.name, value: e.value ?? "" }));
  return Object.fromEntries(resolvePodEnv(env, { "metadata.name": podName }));
}

const synths = await synthAll({});

describe("Kubernetes stacks etcd-k8s-1, -3, -5, -7", () => {

  test("four stacks named by size, with the hashicorp/kubernetes provider pinned by the bindings", () => {
    assert.deepEqual(synths.map((s) => s.stack.node.id), ["etcd-k8s-1", "etcd-k8s-3", "etcd-k8s-5", "etcd-k8s-7"]);
    for (const s of synths) {
      assert.ok(Testing.toHaveProvider(s.raw, "kubernetes"));
      assert.deepEqual(s.json.terraform.required_providers.kubernetes, { source: "kubernetes", version: "2.38.0" });
    }
  });

  for (const size of [1, 3, 5, 7]) {
    test(`etcd-k8s-${size}: each resource as declared (Testing helpers)`, () => {
      const { raw } = synths.find((s) => s.stack.plan.size === size)!;
      const sts = `etcd-${size}`;
      assert.ok(Testing.toHaveResourceWithProperties(raw, NamespaceV1.tfResourceType, { metadata: { name: `etcd-k8s-${size}` } }));
      assert.ok(
        Testing.toHaveResourceWithProperties(raw, StatefulSetV1.tfResourceType, {
          metadata: { name: sts },
          spec: { replicas: String(size), pod_management_policy: "Parallel", persistent_volume_claim_retention_policy: [{ when_deleted: "Delete", when_scaled: "Delete" }] },
        }),
      );
      assert.ok(Testing.toHaveResourceWithProperties(raw, ServiceV1.tfResourceType, { metadata: { name: `${sts}-peer` }, spec: { cluster_ip: "None", publish_not_ready_addresses: true } }));
      assert.ok(Testing.toHaveResourceWithProperties(raw, ServiceV1.tfResourceType, { metadata: { name: `${sts}-client` }, spec: { type: "ClusterIP" } }));
      assert.ok(Testing.toHaveResourceWithProperties(raw, PodDisruptionBudgetV1.tfResourceType, { metadata: { name: sts }, spec: { max_unavailable: "1" } }));
    });

    test(`etcd-k8s-${size}: valid Kubernetes objects; names, selectors, ports, probes, volumes and anti-affinity agree`, () => {
      const { json, stack } = synths.find((s) => s.stack.plan.size === size)!;
      const o = kubernetesObjects(json);
      const ns = `etcd-k8s-${size}`;
      assert.deepEqual(o.namespaces.map((n) => n.metadata!.name), [ns]);
      assert.equal(o.statefulSets.length, 1);
      const sts = o.statefulSets[0]!;
      const spec = sts.spec!;
      const tmpl = spec.template;
      const podLabels = tmpl.metadata!.labels!;
      const matches = (sel: Record<string, string> | undefined) => !!sel && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => podLabels[k] === v);
      assert.equal(sts.metadata!.namespace, ns);
      assert.equal(spec.replicas, size);
      assert.ok(matches(spec.selector.matchLabels), "the StatefulSet selects its own pods");
      const peer = o.services.find((s) => s.metadata!.name === spec.serviceName)!;
      assert.ok(peer, "serviceName names the headless peer Service");
      assert.equal(peer.spec!.clusterIP, "None");
      assert.equal(peer.spec!.publishNotReadyAddresses, true);
      for (const svc of o.services) {
        assert.equal(svc.metadata!.namespace, ns);
        assert.ok(matches(svc.spec!.selector), `${svc.metadata!.name} selects the members`);
      }
      const pdb = o.disruptionBudgets[0]!;
      assert.ok(matches(pdb.spec!.selector!.matchLabels));
      assert.equal(pdb.spec!.maxUnavailable, 1);

      const podSpec = tmpl.spec!;
      assert.equal(podSpec.containers.length, 1);
      const c = podSpec.containers[0]!;
      assert.deepEqual(c.command, [...POD_ENTRY_COMMAND]);
      assert.equal(c.args, undefined);
      const ports = new Map((c.ports ?? []).map((p) => [p.name, p.containerPort]));
      assert.deepEqual([...ports], [["client", 2379], ["peer", 2380]]);
      for (const svc of o.services) for (const p of svc.spec!.ports!) assert.ok(ports.has(p.targetPort as string), `${svc.metadata!.name} targets a named container port`);
      // Exec probes: the image's probe asks over https with the member's own certificate (kubelet's httpGet has none to present).
      assert.deepEqual(
        [c.startupProbe?.exec?.command, c.livenessProbe?.exec?.command, c.readinessProbe?.exec?.command],
        ["/livez", "/livez", "/readyz"].map((p) => ["node", "/app/dist/stacks/pod/probe.js", p]),
      );
      assert.deepEqual(c.resources, { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } });
      assert.equal(c.securityContext!.readOnlyRootFilesystem, true);
      assert.deepEqual(c.securityContext!.capabilities!.drop, ["ALL"]);
      assert.equal(podSpec.securityContext!.runAsUser, 1000);
      assert.equal(podSpec.securityContext!.fsGroup, 1000);
      assert.equal(podSpec.enableServiceLinks, false, "no *_SERVICE_HOST variables: they would start with ETCD_ for these Service names");
      const anti = podSpec.affinity!.podAntiAffinity!.preferredDuringSchedulingIgnoredDuringExecution![0]!;
      assert.equal(anti.podAffinityTerm.topologyKey, "kubernetes.io/hostname");
      assert.ok(matches(anti.podAffinityTerm.labelSelector!.matchLabels));
      const [claim] = spec.volumeClaimTemplates!;
      assert.deepEqual(c.volumeMounts, [{ name: claim!.metadata!.name, mountPath: "/var/lib/etcd" }, { name: "tls", mountPath: "/etc/etcdkit/pki", readOnly: true }]);
      // TLS: one Secret with the CA and every member's files, mounted 0440 (the fsGroup reads the keys), each member's under its own folder.
      assert.equal(o.secrets.length, 1);
      const secret = o.secrets[0]!;
      const vol = podSpec.volumes!.find((v) => v.name === "tls")!;
      assert.equal(vol.secret!.secretName, secret.metadata!.name);
      assert.equal(vol.secret!.defaultMode, 0o440);
      for (const m of stack.plan.members) {
        for (const f of m.tls!.files) {
          const path = f.target.slice("/etc/etcdkit/pki/".length);
          const item = vol.secret!.items!.find((i) => i.path === path);
          assert.ok(item, `${path} is mounted`);
          assert.equal(Buffer.from(secret.data![item.key]!, "base64").toString("utf8"), readFileSync(f.source, "utf8"), `${path} is the PKI's file`);
        }
      }
      assert.deepEqual(claim!.spec!.accessModes, ["ReadWriteOnce"]);
      assert.equal(claim!.spec!.resources!.requests!.storage, "1Gi");

      // Each pod's env, expanded as Kubernetes expands it, is that member's config in the model.
      assert.equal(stack.plan.members.length, size);
      for (const m of stack.plan.members) {
        const env = podEnvOf(c, m.name);
        assert.equal(env.POD_NAME, m.name);
        assert.deepEqual(parseConfig([], env).config, m.config, m.name);
        assert.ok(env.ETCD_DATA_DIR!.startsWith("/var/lib/etcd/"));
        assert.equal(env.ETCD_INITIAL_ADVERTISE_PEER_URLS, `https://${m.name}.${spec.serviceName}.${ns}.svc.cluster.local:2380`);
      }
    });
  }

  test("outputs: client endpoints per member and the client Service; bench --stack-outputs reads them", () => {
    const { json } = synths.find((s) => s.stack.plan.size === 3)!;
    const outputs = Object.fromEntries(Object.entries(json.output as Record<string, { value: unknown }>).map(([k, v]) => [k, v.value]));
    const pods = [0, 1, 2].map((i) => `https://etcd-3-${i}.etcd-3-peer.etcd-k8s-3.svc.cluster.local:2379`);
    assert.deepEqual(outputs.client_endpoints, pods);
    assert.equal(outputs.client_service, "https://etcd-3-client.etcd-k8s-3.svc.cluster.local:2379");
    const dir = mkdtempSync(join(tmpdir(), "etcdkit-k8s-outputs-"));
    try {
      // `cdktf deploy --outputs-file` writes {stack: {output: value}}.
      const f = join(dir, "outputs.json");
      writeFileSync(f, JSON.stringify({ "etcd-k8s-3": outputs }));
      assert.deepEqual(endpointsFromStackOutputs(f), pods);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Kubernetes stacks: node ports, replicas, refusals", () => {
  test("expose nodeport: one NodePort Service per member selecting its pod, ports in the node port range; outputs point at the node", async () => {
    const [s] = await synthAll({ ETCDKIT_K8S_SIZES: "5", ETCDKIT_K8S_EXPOSE: "nodeport", ETCDKIT_K8S_NODE_ADDRESS: "192.0.2.10" });
    const o = kubernetesObjects(s!.json);
    const nodePorts = o.services.filter((x) => x.spec!.type === "NodePort");
    assert.deepEqual(nodePorts.map((x) => x.spec!.ports![0]!.nodePort), [30501, 30502, 30503, 30504, 30505]);
    assert.deepEqual(nodePorts.map((x) => x.spec!.selector!["statefulset.kubernetes.io/pod-name"]), [0, 1, 2, 3, 4].map((i) => `etcd-5-${i}`));
    const outputs = Object.fromEntries(Object.entries(s!.json.output as Record<string, { value: unknown }>).map(([k, v]) => [k, v.value]));
    assert.deepEqual(outputs.client_endpoints, [1, 2, 3, 4, 5].map((i) => `https://192.0.2.10:3050${i}`));
    const dir = mkdtempSync(join(tmpdir(), "etcdkit-k8s-outputs-"));
    try {
      const f = join(dir, "outputs.json");
      writeFileSync(f, JSON.stringify({ "etcd-k8s-5": outputs }));
      assert.deepEqual(endpointsFromStackOutputs(f), outputs.client_endpoints);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("replicas above the bootstrap size: the template stays the bootstrap one; the joining ordinals are planned with state existing", async () => {
    const [s] = await synthAll({ ETCDKIT_K8S_SIZES: "3", ETCDKIT_K8S_REPLICAS_3: "5" });
    const o = kubernetesObjects(s!.json);
    assert.equal(o.statefulSets[0]!.spec!.replicas, 5);
    const c = o.statefulSets[0]!.spec!.template.spec!.containers[0]!;
    const plan = s!.stack.plan;
    assert.deepEqual(plan.members.map((m) => !!m.joins), [false, false, false, true, true]);
    for (const m of plan.members) {
      const env = podEnvOf(c, m.name);
      const cfg = parseConfig([], env).config;
      assert.equal(cfg.initialCluster.length, 3, "the template carries the bootstrap cluster");
      if (m.joins) assert.deepEqual({ ...cfg, initialCluster: m.config.initialCluster, initialClusterState: "existing" }, m.config);
      else assert.deepEqual(cfg, m.config);
    }
    assert.equal(plan.members[4]!.config.initialCluster.length, 5);
  });

  test("an existing namespace is used, not created; required anti-affinity; storage class and sizes", async () => {
    const [s] = await synthAll({ ETCDKIT_K8S_SIZES: "3", ETCDKIT_K8S_NAMESPACE: "tests", ETCDKIT_K8S_ANTI_AFFINITY: "required", ETCDKIT_K8S_STORAGE_CLASS: "fast", ETCDKIT_K8S_STORAGE: "5Gi" });
    const o = kubernetesObjects(s!.json);
    assert.equal(o.namespaces.length, 0);
    const sts = o.statefulSets[0]!;
    assert.equal(sts.metadata!.namespace, "tests");
    assert.equal(sts.spec!.template.spec!.affinity!.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution![0]!.topologyKey, "kubernetes.io/hostname");
    assert.equal(sts.spec!.volumeClaimTemplates![0]!.spec!.storageClassName, "fast");
    assert.match(s!.stack.plan.members[0]!.address, /\.etcd-3-peer\.tests\.svc\.cluster\.local$/);
  });

  test("the translation and the schema check can fail: unknown attributes, wrong types, missing required fields", async () => {
    const [s] = await synthAll({ ETCDKIT_K8S_SIZES: "1" });
    const sts = () => Object.values(s!.json.resource.kubernetes_stateful_set_v1 as Record<string, Json>)[0]!;
    const copy = () => JSON.parse(JSON.stringify(s!.json)) as Json;
    const mutate = (f: (sts: Json) => void): Json => {
      const j = copy();
      f(Object.values(j.resource.kubernetes_stateful_set_v1 as Record<string, Json>)[0]!);
      return j;
    };
    assert.ok(sts());
    assert.throws(() => kubernetesObjects(mutate((x) => (x.spec.template.spec.container[0].bogus_field = 1))), /bogus_field: not translated/);
    assert.throws(() => kubernetesObjects(mutate((x) => (x.spec.replicas = "three"))), /an integer expected/);
    assert.throws(() => kubernetesObjects(mutate((x) => delete x.spec.template.spec.container[0].name)), /must have required property name/);
    assert.throws(() => kubernetesObjects(mutate((x) => (x.spec.template.metadata.labels.extra = 7))), /labels\/extra must be string/);
  });

  test("bad options are refused before any construct exists", async () => {
    const refuses = (env: Record<string, string>, re: RegExp) => assert.rejects(synthAll(env), re);
    await refuses({ ETCDKIT_K8S_EXPOSE: "nodeport" }, /needs the address of a node/);
    await refuses({ ETCDKIT_K8S_NODE_ADDRESS: "192.0.2.1" }, /only used with expose nodeport/);
    await refuses({ ETCDKIT_K8S_EXPOSE: "loadbalancer" }, /ETCDKIT_K8S_EXPOSE must be one of cluster, nodeport/);
    await refuses({ ETCDKIT_K8S_MEMORY: "lots" }, /Kubernetes quantity/);
    await refuses({ ETCDKIT_K8S_REPLICAS_3: "0" }, /replicas must be an integer from 1 to 99/);
    await refuses({ ETCDKIT_K8S_NAMESPACE: "Bad_Name" }, /not a valid name/);
    await refuses({ ETCDKIT_K8S_SIZES: "4" }, /an even count/);
    await refuses({ ETCDKIT_K8S_EXPOSE: "nodeport", ETCDKIT_K8S_NODE_ADDRESS: "n", ETCDKIT_K8S_NODE_PORT_BASE: "32700" }, /outside Kubernetes' node port range/);
  });
});

test("Kubernetes' $(VAR) expansion: defined variables, $$ escapes, unknown names kept", () => {
  const vars = new Map([["POD_NAME", "etcd-3-1"]]);
  assert.equal(expandKubernetesVars("http://$(POD_NAME).peer:2380", vars), "http://etcd-3-1.peer:2380");
  assert.equal(expandKubernetesVars("$$(POD_NAME) $(OTHER) $x $", vars), "$(POD_NAME) $(OTHER) $x $");
  assert.equal(expandKubernetesVars("$(POD_NAME", vars), "$(POD_NAME");
  const env = resolvePodEnv(
    [
      { name: "A", value: "$(B)" },
      { name: "B", fieldPath: "metadata.name" },
      { name: "C", value: "$(B)-$(A)" },
    ],
    { "metadata.name": "p" },
  );
  assert.deepEqual([...env], [["A", "$(B)"], ["B", "p"], ["C", "p-$(B)"]], "only variables defined earlier expand");
});
