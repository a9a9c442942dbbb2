/**
 * One container env for every pod of the StatefulSet: `POD_NAME` from the downward API first,
 * then the model's ETCD_* settings, where the values that differ between members are written
 * with `$(POD_NAME)`, which Kubernetes expands per pod. Built from the plan and then checked:
 * expanding the template for each initial member must give exactly that member's settings from
 * the topology model (a joining member differs only in ETCD_INITIAL_CLUSTER and
 * ETCD_INITIAL_CLUSTER_STATE, which the pod entry sets after MemberAdd). Pure.
 */
import { toEnv } from "../../server/config/render.js";
import { TopologyError, type TopologyPlan } from "../../topology/index.js";

export const POD_NAME = "POD_NAME";
/** Set by the pod entry for a joining member, not by the template. */
export const JOIN_KEYS = ["ETCD_INITIAL_CLUSTER", "ETCD_INITIAL_CLUSTER_STATE"] as const;

export type PodEnvVar = { readonly name: string; readonly value: string } | { readonly name: string; readonly fieldPath: string };

/**
 * Kubernetes' `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion): `$(NAME)`
 * becomes the value of a variable defined before (left as written when unknown), `$$` is a
 * literal `$`, any other `$` stays.
 */
export function expandKubernetesVars(input: string, vars: ReadonlyMap<string, string>): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c !== "$" || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1]!;
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += vars.has(name) ? vars.get(name)! : `$(${name})`;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

/** The container's env as a pod named `podName` sees it, in order (downward API values filled in). */
export function resolvePodEnv(env: readonly PodEnvVar[], fieldValues: Readonly<Record<string, string>>): Map<string, string> {
  const vars = new Map<string, string>();
  for (const e of env) {
    if ("fieldPath" in e) {
      const v = fieldValues[e.fieldPath];
      if (v === undefined) throw new Error(`no value for the downward API field ${e.fieldPath}`);
      vars.set(e.name, v);
    } else {
      vars.set(e.name, expandKubernetesVars(e.value, vars));
    }
  }
  return vars;
}

const escapeDollars = (v: string) => v.replace(/\$/g, "$$$$");

/** The template env of a kubernetes plan, checked against every member of the model. */
export function podEnv(plan: TopologyPlan): PodEnvVar[] {
  if (plan.target !== "kubernetes") throw new TopologyError(`stack ${plan.stackName}: a kubernetes plan is needed`);
  const initial = plan.members.filter((m) => !m.joins);
  const first = initial[0]!;
  const envs = initial.map((m) => toEnv(m.config));
  const keys = Object.keys(envs[0]!);
  const env: PodEnvVar[] = [{ name: POD_NAME, fieldPath: "metadata.name" }];
  for (const k of keys) {
    const v = envs[0]![k]!;
    const same = envs.every((e) => e[k] === v);
    env.push({ name: k, value: same ? escapeDollars(v) : escapeDollars(v).split(first.name).join(`$(${POD_NAME})`) });
  }
  for (const m of plan.members) {
    const got = Object.fromEntries([...resolvePodEnv(env, { "metadata.name": m.name })].filter(([k]) => k !== POD_NAME));
    const want = toEnv(m.config);
    for (const k of new Set([...Object.keys(got), ...Object.keys(want)])) {
      if (m.joins && (JOIN_KEYS as readonly string[]).includes(k)) continue;
      if (got[k] !== want[k]) throw new TopologyError(`pod ${m.name}: the shared pod template gives ${k}=${got[k] ?? "(unset)"}, the model wants ${want[k] ?? "(unset)"}`);
    }
  }
  return env;
}
