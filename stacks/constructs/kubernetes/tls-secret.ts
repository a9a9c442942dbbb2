/**
 * TLS material of a Kubernetes stack: one Secret (`<statefulSet>-tls`) holding the CA and every
 * member's server and peer certificate and key from the stack's PKI (`etcdkit pki`, made at synth
 * by stacks/prepare-pki.ts), mounted read-only into every pod at the members' certificate folder,
 * each member's files at `<folder>/<member>/` (the pod template is shared, so ETCD_CERT_FILE and
 * the like name `$(POD_NAME)`'s folder). Files are 0440 for the pods' fsGroup: only the member's
 * user reads the keys. The keys are in the Terraform state and in cdktf.out, like every Secret
 * Terraform manages: these are test clusters (stacks/README.md).
 */
import { readFileSync } from "node:fs";
import { Construct } from "constructs";
import { SecretV1 } from "@cdktf/provider-kubernetes/lib/secret-v1/index.js";
import { TopologyError, type TopologyPlan } from "../../../topology/index.js";
import { stackLabels } from "./labels.js";

export interface SecretFiles {
  /** Secret key -> file text. */
  readonly data: Record<string, string>;
  /** Secret key -> path under the mount (`<member>/<file>`). */
  readonly items: { key: string; path: string }[];
  /** The mount point: the members' certificate folder. */
  readonly mountPath: string;
}

/** The Secret's keys and the mount's items, from the plan and the PKI files (which must exist). */
export function secretFiles(plan: TopologyPlan): SecretFiles | undefined {
  const members = plan.members.filter((m) => m.tls);
  if (members.length === 0) return undefined;
  const first = members[0]!.tls!.paths.ca;
  const mountPath = first.slice(0, first.lastIndexOf("/", first.lastIndexOf("/") - 1));
  const data: Record<string, string> = {};
  const items: { key: string; path: string }[] = [];
  for (const m of members) {
    for (const f of m.tls!.files) {
      const file = f.target.slice(f.target.lastIndexOf("/") + 1);
      // One CA for all: one key, mounted into each member's folder.
      const key = file === "ca.crt" ? "ca.crt" : `${m.name}.${file}`;
      if (!(key in data)) {
        try {
          data[key] = readFileSync(f.source, "utf8");
        } catch (e) {
          throw new TopologyError(`stack ${plan.stackName}: cannot read ${f.source} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): make the PKI first (cdktf synth does, or etcdkit pki)`);
        }
      }
      items.push({ key, path: `${m.name}/${file}` });
    }
  }
  return { data, items, mountPath };
}

export class TlsSecret extends Construct {
  readonly secret: SecretV1;
  readonly files: SecretFiles;

  constructor(scope: Construct, id: string, props: { plan: TopologyPlan; namespace: string; files: SecretFiles }) {
    super(scope, id);
    const k = props.plan.kubernetes!;
    this.files = props.files;
    this.secret = new SecretV1(this, "secret", {
      metadata: { name: `${k.statefulSet}-tls`, namespace: props.namespace, labels: stackLabels(k, props.plan.stackName) },
      type: "Opaque",
      data: props.files.data,
    });
  }
}
