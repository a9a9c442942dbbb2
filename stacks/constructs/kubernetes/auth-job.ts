/**
 * ETCDKIT_AUTH_FILE on a Kubernetes stack: a Job that applies the auth file from inside the
 * cluster, with the members' own image (which ships `etcdkit auth`, stacks/image-bundle.ts).
 *
 * - ConfigMap `<statefulSet>-auth-file`: the auth file with each user's password re-pointed at the
 *   Job's variable `ETCDKIT_AUTH_PASSWORD_<i>` (no password: the synth holds none).
 * - Job `<statefulSet>-auth`: `etcdkit auth apply` on the client Service's URL after `--wait` for a
 *   healthy member, with the first member's certificate from the TLS Secret; each variable is a
 *   `secretKeyRef` into Secret `<statefulSet>-auth`, key = the user's name. That Secret is made out
 *   of band (`etcdkit k8s auth-secret`, or kubectl create secret): until it exists the kubelet does
 *   not start the pod, so Terraform does not wait for the Job (`wait_for_completion = false`).
 * - The pod's labels are not the members' (the Services and the PDB select members only).
 * - A changed auth file changes the pod template's annotation, so the Job is made anew and runs again.
 */
import { createHash } from "node:crypto";
import { Construct } from "constructs";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1/index.js";
import { JobV1 } from "@cdktf/provider-kubernetes/lib/job-v1/index.js";
import type { KubernetesPlan, TopologyPlan } from "../../../topology/index.js";
import type { AuthSpec } from "../../../ansible-free-scripts/auth/auth-file.js";
import { checkUserKey, retargetAuthFile } from "../../../ansible-free-scripts/auth/auth-target.js";
import { stackLabels } from "./labels.js";
import { RUN_AS } from "./member-statefulset.js";
import type { SecretFiles } from "./tls-secret.js";

/** The image's etcdkit (bin/etcdkit.js runs `backup` and `auth` there). */
export const KIT_COMMAND = ["node", "/app/bin/etcdkit.js"] as const;
/** Where the Job finds the auth file (the ConfigMap's one key). */
export const AUTH_MOUNT = "/etc/etcdkit/auth";
export const AUTH_FILE_KEY = "auth.yaml";
/** How long the Job waits for a healthy member before it fails (and the Job controller retries). */
export const AUTH_WAIT_SECONDS = 600;
export const passwordVariable = (i: number) => `ETCDKIT_AUTH_PASSWORD_${i}`;
export const authNames = (k: KubernetesPlan) => ({ job: `${k.statefulSet}-auth`, secret: `${k.statefulSet}-auth`, configMap: `${k.statefulSet}-auth-file` });

/** The labels of the Job's pod: the stack's, but never the members' selector. */
export function authPodLabels(k: KubernetesPlan, stackName: string): Record<string, string> {
  return { ...stackLabels(k, stackName), "app.kubernetes.io/name": "etcdkit-auth", "app.kubernetes.io/component": "auth" };
}

export interface AuthJobProps {
  readonly plan: TopologyPlan;
  readonly namespace: string;
  readonly spec: AuthSpec;
  readonly imagePullPolicy: string;
  /** TLS (absent when insecure): the Secret and its items; the Job mounts the CA and the first member's server certificate. */
  readonly tls?: { readonly secretName: string; readonly files: SecretFiles };
}

export class AuthJob extends Construct {
  readonly job: JobV1;
  readonly configMap: ConfigMapV1;
  /** The auth file as the Job reads it. */
  readonly fileText: string;

  constructor(scope: Construct, id: string, props: AuthJobProps) {
    super(scope, id);
    const { plan, spec } = props;
    const k = plan.kubernetes!;
    const names = authNames(k);
    spec.users.forEach((u) => checkUserKey(u.name, `stack ${plan.stackName}'s Secret ${names.secret}`));
    this.fileText = retargetAuthFile(spec, (_u, i) => ({ env: passwordVariable(i) }));
    const labels = stackLabels(k, plan.stackName);
    this.configMap = new ConfigMapV1(this, "file", { metadata: { name: names.configMap, namespace: props.namespace, labels }, data: { [AUTH_FILE_KEY]: this.fileText } });

    const first = plan.members[0]!;
    const tlsItems = props.tls ? props.tls.files.items.filter((it) => it.path.startsWith(`${first.name}/`) && /\/(ca\.crt|server\.(crt|key))$/.test(it.path)) : [];
    const paths = first.tls?.paths;
    const command = [
      ...KIT_COMMAND,
      "auth",
      "apply",
      `${AUTH_MOUNT}/${AUTH_FILE_KEY}`,
      `--endpoints=${k.clientServiceUrl}`,
      `--wait=${AUTH_WAIT_SECONDS}`,
      ...(props.tls && paths ? [`--cacert=${paths.ca}`, `--cert=${paths.cert}`, `--key=${paths.key}`] : []),
    ];
    this.job = new JobV1(this, "job", {
      metadata: { name: names.job, namespace: props.namespace, labels },
      waitForCompletion: false,
      spec: {
        backoffLimit: 4,
        template: {
          metadata: { labels: authPodLabels(k, plan.stackName), annotations: { "etcdkit.io/auth-file-sha256": createHash("sha256").update(this.fileText).digest("hex") } },
          spec: {
            restartPolicy: "OnFailure",
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsUser: String(RUN_AS), runAsGroup: String(RUN_AS), runAsNonRoot: true, fsGroup: String(RUN_AS), seccompProfile: { type: "RuntimeDefault" } },
            volume: [
              { name: "auth-file", configMap: { name: this.configMap.metadata.name, defaultMode: "0440", items: [{ key: AUTH_FILE_KEY, path: AUTH_FILE_KEY }] } },
              ...(props.tls ? [{ name: "tls", secret: { secretName: props.tls.secretName, defaultMode: "0440", items: tlsItems } }] : []),
            ],
            container: [
              {
                name: "auth",
                image: plan.image,
                imagePullPolicy: props.imagePullPolicy,
                command,
                env: spec.users.map((u, i) => ({ name: passwordVariable(i), valueFrom: { secretKeyRef: { name: names.secret, key: u.name } } })),
                volumeMount: [{ name: "auth-file", mountPath: AUTH_MOUNT, readOnly: true }, ...(props.tls ? [{ name: "tls", mountPath: props.tls.files.mountPath, readOnly: true }] : [])],
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
              },
            ],
          },
        },
      },
    });
  }
}
