/**
 * The members as one StatefulSet: stable pod names (= member names) under the headless peer
 * Service, a volume claim per pod (deleted with the pod on scale-down and on destroy: a removed
 * member's data must not come back), pods started in parallel (every initial member must run
 * before any is ready), spread across nodes, non-root with a read-only root filesystem, probes
 * on /livez and /readyz (exec: the image's probe asks over https with the member's own certificate,
 * which kubelet's httpGet cannot present), the TLS Secret mounted read-only, and the pod entry (stacks/pod/entry.ts) as the command, which joins new
 * ordinals through MemberAdd before the server starts.
 */
import { Construct } from "constructs";
import { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1/index.js";
import type { KubernetesStackOptions } from "../../options.js";
import type { TopologyPlan } from "../../../topology/index.js";
import { podEnv } from "../../kubernetes/pod-env.js";
import { podSelector, stackLabels } from "./labels.js";
import { PROBE_COMMAND } from "../member.js";
import type { SecretFiles } from "./tls-secret.js";

/** The container's command: the pod entry in the etcd-ts image (node, no shell). */
export const POD_ENTRY_COMMAND = ["node", "/app/dist/stacks/pod/entry.js"] as const;
/** Where each pod's claim is mounted: data dirs are <mount>/<pod name>. */
export const DATA_MOUNT = "/var/lib/etcd";
/** uid/gid of the image's runtime user (Dockerfile: USER 1000:1000). */
export const RUN_AS = 1000;

export interface MemberStatefulSetProps {
  readonly plan: TopologyPlan;
  readonly namespace: string;
  readonly pod: KubernetesStackOptions;
  /** Created after the peer Service (its name is the pods' DNS subdomain). */
  readonly peerServiceName: string;
  /** TLS (absent when insecure): the Secret's name and what of it each pod mounts where. */
  readonly tls?: { readonly secretName: string; readonly files: SecretFiles };
}

export class MemberStatefulSet extends Construct {
  readonly statefulSet: StatefulSetV1;

  constructor(scope: Construct, id: string, props: MemberStatefulSetProps) {
    super(scope, id);
    const { plan, pod } = props;
    const k = plan.kubernetes!;
    const first = plan.members[0]!;
    if (!first.config.dataDir.startsWith(`${DATA_MOUNT}/`)) throw new Error(`data dir ${first.config.dataDir} is not under ${DATA_MOUNT}`);
    const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
      exec: { command: [...PROBE_COMMAND, path] },
      periodSeconds,
      timeoutSeconds: 3,
      failureThreshold,
    });
    const term = { labelSelector: [{ matchLabels: podSelector(k) }], topologyKey: "kubernetes.io/hostname" };
    this.statefulSet = new StatefulSetV1(this, "statefulset", {
      metadata: { name: k.statefulSet, namespace: props.namespace, labels: stackLabels(k, plan.stackName) },
      spec: {
        serviceName: props.peerServiceName,
        replicas: String(k.replicas),
        podManagementPolicy: "Parallel",
        updateStrategy: [{ type: "RollingUpdate" }],
        persistentVolumeClaimRetentionPolicy: [{ whenScaled: "Delete", whenDeleted: "Delete" }],
        selector: { matchLabels: podSelector(k) },
        template: {
          metadata: { labels: stackLabels(k, plan.stackName) },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 30,
            securityContext: {
              runAsUser: String(RUN_AS),
              runAsGroup: String(RUN_AS),
              runAsNonRoot: true,
              fsGroup: String(RUN_AS),
              fsGroupChangePolicy: "OnRootMismatch",
              seccompProfile: { type: "RuntimeDefault" },
            },
            affinity: {
              podAntiAffinity:
                pod.antiAffinity === "required"
                  ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
                  : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] },
            },
            ...(props.tls ? { volume: [{ name: "tls", secret: { secretName: props.tls.secretName, defaultMode: "0440", items: props.tls.files.items } }] } : {}),
            container: [
              {
                name: "etcd",
                image: plan.image,
                imagePullPolicy: pod.imagePullPolicy,
                command: [...POD_ENTRY_COMMAND],
                env: podEnv(plan).map((e) => ("fieldPath" in e ? { name: e.name, valueFrom: { fieldRef: { fieldPath: e.fieldPath } } } : { name: e.name, value: e.value })),
                port: [
                  { name: "client", containerPort: first.clientPort, protocol: "TCP" },
                  { name: "peer", containerPort: first.peerPort, protocol: "TCP" },
                ],
                volumeMount: [{ name: "data", mountPath: DATA_MOUNT }, ...(props.tls ? [{ name: "tls", mountPath: props.tls.files.mountPath, readOnly: true }] : [])],
                // A joining pod may wait for MemberAdd before it listens: up to 5 minutes to start.
                startupProbe: probe("/livez", 5, 60),
                livenessProbe: probe("/livez", 10, 3),
                readinessProbe: probe("/readyz", 5, 3),
                resources: { requests: { cpu: pod.cpuRequest, memory: pod.memoryRequest }, limits: { memory: pod.memoryLimit } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
              },
            ],
          },
        },
        volumeClaimTemplate: [
          {
            metadata: { name: "data", labels: stackLabels(k, plan.stackName) },
            spec: {
              accessModes: ["ReadWriteOnce"],
              ...(pod.storageClass !== undefined ? { storageClassName: pod.storageClass } : {}),
              resources: { requests: { storage: pod.storage } },
            },
          },
        ],
      },
    });
  }
}
