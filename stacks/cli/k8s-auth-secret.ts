/**
 * `etcdkit k8s auth-secret FILE --name NAME --namespace NS`: the Secret a Kubernetes stack's auth Job
 * reads its passwords from (stacks/constructs/kubernetes/auth-job.ts), as a manifest on stdout for
 * `kubectl apply -f -`: one key per user of the auth file, its value the password read here from the
 * variable or file the auth file names. Nothing is written to disk and no password is an argument
 * of any process (kubectl reads it from the pipe).
 */
import { parseArgs } from "node:util";
import { loadAuthFile, resolvePasswords } from "../../ansible-free-scripts/auth/auth-file.js";
import { checkUserKey } from "../../ansible-free-scripts/auth/auth-target.js";

export const AUTH_SECRET_HELP = `Usage: etcdkit k8s auth-secret FILE --name NAME --namespace NAMESPACE

Prints the Secret a Kubernetes stack's auth Job reads (its name and namespace are in the stack's
auth output, make_secret): one key per user of the auth file FILE, holding the password read here
from the variable or file FILE names. Pipe it to kubectl:

  npx etcdkit k8s auth-secret auth.yaml --name etcd-3-auth --namespace etcd-k8s-3 | kubectl apply -f -
`;

/** A DNS subdomain (Secret names) or label (namespaces). */
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface SecretManifest {
  readonly apiVersion: "v1";
  readonly kind: "Secret";
  readonly metadata: { readonly name: string; readonly namespace: string; readonly labels: Record<string, string> };
  readonly type: "Opaque";
  readonly data: Record<string, string>;
}

/** The manifest (values base64, as the API holds them); throws before anything is printed when a password cannot be read. */
export function authSecretManifest(file: string, name: string, namespace: string, env: NodeJS.ProcessEnv = process.env): SecretManifest {
  if (!DNS_SUBDOMAIN.test(name)) throw new Error(`--name ${JSON.stringify(name)} is not a Kubernetes object name`);
  if (!DNS_LABEL.test(namespace)) throw new Error(`--namespace ${JSON.stringify(namespace)} is not a Kubernetes namespace name`);
  const spec = loadAuthFile(file);
  for (const u of spec.users) checkUserKey(u.name, `Secret ${name}`);
  const passwords = resolvePasswords(spec, env);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace, labels: { "app.kubernetes.io/managed-by": "etcdkit", "app.kubernetes.io/component": "auth" } },
    type: "Opaque",
    data: Object.fromEntries([...passwords].map(([u, pw]) => [u, Buffer.from(pw, "utf8").toString("base64")])),
  };
}

export function authSecretMain(argv: string[], write: (s: string) => void = (s) => process.stdout.write(s)): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { name: { type: "string" }, namespace: { type: "string" }, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    process.stderr.write(`etcdkit k8s auth-secret: ${(e as Error).message}\n\n${AUTH_SECRET_HELP}`);
    return 2;
  }
  const { values: o, positionals } = parsed;
  if (o.help) {
    write(AUTH_SECRET_HELP);
    return 0;
  }
  if (positionals.length !== 1 || o.name === undefined || o.namespace === undefined) {
    process.stderr.write(`etcdkit k8s auth-secret: give FILE, --name and --namespace\n\n${AUTH_SECRET_HELP}`);
    return 2;
  }
  try {
    write(`${JSON.stringify(authSecretManifest(positionals[0]!, o.name, o.namespace), null, 2)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`etcdkit k8s auth-secret: ${(e as Error).message}\n`);
    return 1;
  }
}
