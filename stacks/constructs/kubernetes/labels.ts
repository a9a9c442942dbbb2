/** Labels every Kubernetes resource of a stack carries, and the pod selector (a subset that never changes). */
import type { KubernetesPlan } from "../../../topology/index.js";

export function podSelector(k: KubernetesPlan): Record<string, string> {
  return { "app.kubernetes.io/name": "etcd-ts", "app.kubernetes.io/instance": k.statefulSet };
}

export function stackLabels(k: KubernetesPlan, stackName: string): Record<string, string> {
  return { ...podSelector(k), "app.kubernetes.io/managed-by": "etcdkit", "etcdkit.stack": stackName };
}

/** The label Kubernetes puts on each StatefulSet pod: selects exactly one member. */
export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
