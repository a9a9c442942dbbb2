/**
 * The Kubernetes objects a synthesized kubernetes stack makes, as the API server would receive
 * them: each kubernetes_* resource of the Terraform JSON translated field by field (snake_case
 * blocks -> camelCase objects, single blocks unwrapped, numeric strings to integers where the API
 * wants integers) and then validated with `kubernetes-models` (the Kubernetes OpenAPI schemas,
 * compiled). An attribute this file does not know is refused, so a construct that grows a field
 * must grow its translation here too.
 */
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret, type ISecret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap, type IConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Job, type IJob } from "kubernetes-models/batch/v1/Job";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { IService } from "kubernetes-models/v1/Service";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { INamespace } from "kubernetes-models/v1/Namespace";

type Json = Record<string, any>;
type Kind = "string" | "bool" | "int" | "intOrString" | "map" | "strings" | "octal" | "base64Map" | "providerOnly";
interface Field {
  /** The API's name; default: the camelCase of the Terraform name. */
  readonly k?: string;
  readonly kind?: Kind;
  /** A nested block (one object) or, with `many`, a list of them. */
  readonly spec?: Spec;
  readonly many?: boolean;
}
type Spec = Readonly<Record<string, Field>>;

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const S: Field = { kind: "string" };
const B: Field = { kind: "bool" };
const I: Field = { kind: "int" };
const IOS: Field = { kind: "intOrString" };
const MAP: Field = { kind: "map" };
const STRS: Field = { kind: "strings" };
/** A file mode the provider takes as an octal string ("0440") and the API as an integer. */
const OCTAL: Field = { kind: "octal" };
const block = (spec: Spec, k?: string): Field => ({ spec, ...(k ? { k } : {}) });
const blocks = (spec: Spec, k?: string): Field => ({ spec, many: true, ...(k ? { k } : {}) });

const METADATA: Spec = { name: S, namespace: S, labels: MAP, annotations: MAP };
const SELECTOR: Spec = { match_labels: MAP };
const PROBE: Spec = {
  http_get: block({ path: S, port: IOS, scheme: S }),
  exec: block({ command: STRS }),
  period_seconds: I,
  timeout_seconds: I,
  failure_threshold: I,
  success_threshold: I,
  initial_delay_seconds: I,
};
const AFFINITY_TERM: Spec = { label_selector: block(SELECTOR), topology_key: S };
const CONTAINER: Spec = {
  name: S,
  image: S,
  image_pull_policy: S,
  command: STRS,
  args: STRS,
  env: blocks({
    name: S,
    value: S,
    value_from: block({ field_ref: block({ field_path: S, api_version: S }), secret_key_ref: block({ name: S, key: S, optional: B }) }),
  }),
  port: blocks({ name: S, container_port: I, protocol: S }, "ports"),
  volume_mount: blocks({ name: S, mount_path: S, read_only: B }, "volumeMounts"),
  liveness_probe: block(PROBE),
  readiness_probe: block(PROBE),
  startup_probe: block(PROBE),
  resources: block({ limits: MAP, requests: MAP }),
  security_context: block({ allow_privilege_escalation: B, read_only_root_filesystem: B, run_as_non_root: B, run_as_user: I, run_as_group: I, capabilities: block({ drop: STRS, add: STRS }) }),
};
const POD_SPEC: Spec = {
  container: blocks(CONTAINER, "containers"),
  volume: blocks(
    {
      name: S,
      secret: block({ secret_name: S, default_mode: OCTAL, optional: B, items: blocks({ key: S, path: S, mode: OCTAL }) }),
      config_map: block({ name: S, default_mode: OCTAL, optional: B, items: blocks({ key: S, path: S, mode: OCTAL }) }),
    },
    "volumes",
  ),
  restart_policy: S,
  automount_service_account_token: B,
  enable_service_links: B,
  termination_grace_period_seconds: I,
  security_context: block({ fs_group: I, fs_group_change_policy: S, run_as_group: I, run_as_user: I, run_as_non_root: B, seccomp_profile: block({ type: S }) }),
  affinity: block({
    pod_anti_affinity: block({
      preferred_during_scheduling_ignored_during_execution: blocks({ weight: I, pod_affinity_term: block(AFFINITY_TERM) }),
      required_during_scheduling_ignored_during_execution: blocks(AFFINITY_TERM),
    }),
  }),
};
const STATEFUL_SET: Spec = {
  metadata: block(METADATA),
  spec: block({
    service_name: S,
    replicas: I,
    pod_management_policy: S,
    update_strategy: block({ type: S }),
    persistent_volume_claim_retention_policy: block({ when_deleted: S, when_scaled: S }),
    selector: block(SELECTOR),
    template: block({ metadata: block(METADATA), spec: block(POD_SPEC) }),
    volume_claim_template: blocks(
      { metadata: block(METADATA), spec: block({ access_modes: STRS, storage_class_name: S, resources: block({ requests: MAP, limits: MAP }) }) },
      "volumeClaimTemplates",
    ),
  }),
};
const SERVICE: Spec = {
  metadata: block(METADATA),
  spec: block({
    type: S,
    cluster_ip: { k: "clusterIP", kind: "string" },
    publish_not_ready_addresses: B,
    selector: MAP,
    port: blocks({ name: S, port: I, target_port: IOS, node_port: I, protocol: S }, "ports"),
  }),
};
const PDB: Spec = { metadata: block(METADATA), spec: block({ max_unavailable: IOS, min_available: IOS, selector: block(SELECTOR) }) };
const NAMESPACE: Spec = { metadata: block(METADATA) };
// The provider's `data` holds the plain text and encodes it; the API object holds base64.
const SECRET: Spec = { metadata: block(METADATA), type: S, data: { kind: "base64Map" } };

const CONFIG_MAP: Spec = { metadata: block(METADATA), data: MAP };
const JOB: Spec = {
  metadata: block(METADATA),
  // the provider's own switch (wait for the Job to finish during apply), not part of the API object
  wait_for_completion: { kind: "providerOnly" },
  spec: block({ backoff_limit: I, active_deadline_seconds: I, ttl_seconds_after_finished: I, template: block({ metadata: block(METADATA), spec: block(POD_SPEC) }) }),
};

const REF = /^\$\{(kubernetes_[a-z0-9_]+)\.([^.}]+)\.metadata\[0\]\.name\}$/;

function scalar(where: string, kind: Kind, v: unknown, resolve: (s: string) => string): unknown {
  switch (kind) {
    case "string":
      if (typeof v !== "string") throw new Error(`${where}: a string expected, got ${JSON.stringify(v)}`);
      return resolve(v);
    case "bool":
      if (typeof v !== "boolean") throw new Error(`${where}: a boolean expected, got ${JSON.stringify(v)}`);
      return v;
    case "int": {
      const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : NaN;
      if (!Number.isInteger(n)) throw new Error(`${where}: an integer expected, got ${JSON.stringify(v)}`);
      return n;
    }
    case "intOrString":
      // The provider sends "1" as the integer 1 and "client" / "50%" as strings.
      return typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    case "map":
      if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error(`${where}: a map expected`);
      return { ...(v as Record<string, string>) };
    case "octal":
      if (typeof v !== "string" || !/^0[0-7]{3}$/.test(v)) throw new Error(`${where}: an octal mode such as "0440" expected, got ${JSON.stringify(v)}`);
      return parseInt(v, 8);
    case "base64Map":
      if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error(`${where}: a map expected`);
      return Object.fromEntries(Object.entries(v as Record<string, string>).map(([k, x]) => [k, Buffer.from(x, "utf8").toString("base64")]));
    case "providerOnly":
      return undefined;
    case "strings":
      if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new Error(`${where}: a list of strings expected`);
      return [...v];
  }
}

function convert(where: string, spec: Spec, tf: Json, resolve: (s: string) => string): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(tf)) {
    if (key === "//") continue; // cdktf metadata
    const f = spec[key];
    if (!f) throw new Error(`${where}.${key}: not translated to the Kubernetes API (teach test/support/kubernetes-objects.ts)`);
    const name = f.k ?? camel(key);
    if (f.spec) {
      const list = Array.isArray(value) ? value : [value];
      if (!f.many && list.length !== 1) throw new Error(`${where}.${key}: one block expected, got ${list.length}`);
      const converted = list.map((x, i) => convert(`${where}.${key}[${i}]`, f.spec!, x as Json, resolve));
      out[name] = f.many ? converted : converted[0];
    } else {
      const v = scalar(`${where}.${key}`, f.kind ?? "string", value, resolve);
      if (v !== undefined) out[name] = v;
    }
  }
  return out;
}

export interface KubernetesObjects {
  readonly namespaces: INamespace[];
  readonly services: IService[];
  readonly statefulSets: IStatefulSet[];
  readonly disruptionBudgets: IPodDisruptionBudget[];
  readonly secrets: ISecret[];
  readonly configMaps: IConfigMap[];
  readonly jobs: IJob[];
}

/**
 * The stack's Kubernetes objects, each validated against the Kubernetes schema (throws with the
 * schema's message). References to another resource's name are resolved to that name.
 */
export function kubernetesObjects(json: Json): KubernetesObjects {
  const resources = (json.resource ?? {}) as Record<string, Record<string, Json>>;
  const known = ["kubernetes_namespace_v1", "kubernetes_service_v1", "kubernetes_stateful_set_v1", "kubernetes_pod_disruption_budget_v1", "kubernetes_secret_v1", "kubernetes_config_map_v1", "kubernetes_job_v1"];
  for (const t of Object.keys(resources)) if (!known.includes(t)) throw new Error(`resource type ${t} is not translated`);
  const resolve = (s: string): string => {
    const m = REF.exec(s);
    if (!m) {
      if (s.includes("${")) throw new Error(`unresolved reference in ${s}`);
      return s;
    }
    const target = resources[m[1]!]?.[m[2]!];
    if (!target) throw new Error(`reference ${s} to a resource the stack does not declare`);
    return target.metadata.name as string;
  };
  const all = <T>(type: string, spec: Spec, make: (o: Json) => T & { validate(): void }): T[] =>
    Object.entries(resources[type] ?? {}).map(([id, r]) => {
      const obj = make(convert(`${type}.${id}`, spec, r, resolve));
      obj.validate();
      return obj;
    });
  return {
    namespaces: all("kubernetes_namespace_v1", NAMESPACE, (o) => new Namespace(o as INamespace)),
    services: all("kubernetes_service_v1", SERVICE, (o) => new Service(o as IService)),
    statefulSets: all("kubernetes_stateful_set_v1", STATEFUL_SET, (o) => new StatefulSet(o as IStatefulSet)),
    disruptionBudgets: all("kubernetes_pod_disruption_budget_v1", PDB, (o) => new PodDisruptionBudget(o as IPodDisruptionBudget)),
    secrets: all("kubernetes_secret_v1", SECRET, (o) => new Secret(o as ISecret)),
    configMaps: all("kubernetes_config_map_v1", CONFIG_MAP, (o) => new ConfigMap(o as IConfigMap)),
    jobs: all("kubernetes_job_v1", JOB, (o) => new Job(o as IJob)),
  };
}
