/** `etcdkit k8s scale-down`: membership first, then the replica count (stacks/kubernetes/README.md). */
import { parseFlags, UsageError, type FlagSpec } from "../../bench/args.js";
import { endpointsFromStackOutputs } from "../../bench/target.js";
import { grpcClusterClient } from "../pod/cluster-client.js";
import { scaleDown } from "../pod/scale-down.js";
import { AUTH_SECRET_HELP, authSecretMain } from "./k8s-auth-secret.js";

const SPECS: FlagSpec[] = [
  { name: "to", type: "int", arg: "N", help: "members to keep: ordinals 0..N-1 stay, the others are removed (highest first)" },
  { name: "statefulset", type: "string", arg: "NAME", help: "the StatefulSet whose pods are the members (default: taken from the member names)" },
  { name: "endpoints", type: "list", arg: "URLS", help: "client URLs of members that stay (e.g. http://NODE:30301, or through kubectl port-forward)" },
  { name: "stack-outputs", type: "string", arg: "FILE", help: "read the client URLs from the stack's outputs (cdktf deploy --outputs-file / etcdkit output)" },
];

const HELP = `Usage: etcdkit k8s scale-down --to N (--endpoints URLS | --stack-outputs FILE) [--statefulset NAME]
       etcdkit k8s auth-secret FILE --name NAME --namespace NAMESPACE

Removes the members of a Kubernetes stack whose ordinal is N or more from the etcd cluster (MemberRemove,
highest ordinal first, one at a time, each through a member that stays), so that lowering the replica
count afterwards takes away pods that are no longer members:

  npx etcdkit k8s scale-down --to 3 --stack-outputs outputs.json
  ETCDKIT_K8S_REPLICAS_3=3 npx etcdkit deploy etcd-k8s-3

Scale-up needs no command: raise ETCDKIT_K8S_REPLICAS_<N> and deploy; each new pod adds itself
(MemberAdd) before its server starts.

auth-secret: the Secret the stack's auth Job reads (ETCDKIT_AUTH_FILE), see below.

Options of scale-down:
${SPECS.map((s) => `  --${s.name} ${s.arg ?? ""}`.padEnd(28) + s.help).join("\n")}

${AUTH_SECRET_HELP}`;

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === "--help" || verb === "-h" || verb === "help") {
    process.stdout.write(HELP);
    return verb ? 0 : 2;
  }
  if (verb === "auth-secret") return authSecretMain(rest);
  if (verb !== "scale-down") {
    process.stderr.write(`etcdkit k8s: unknown command "${verb}"\n\n${HELP}`);
    return 2;
  }
  try {
    const { flags, positional, help } = parseFlags(rest, SPECS);
    if (help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]}`);
    const to = flags.to as number | undefined;
    if (to === undefined) throw new UsageError("--to N is required");
    const endpoints = flags["stack-outputs"] ? endpointsFromStackOutputs(flags["stack-outputs"] as string) : ((flags.endpoints as string[] | undefined) ?? []);
    if (endpoints.length === 0) throw new UsageError("give --endpoints URLS or --stack-outputs FILE");
    const names = new Set<string>();
    const client = grpcClusterClient();
    const sts = (flags.statefulset as string | undefined) ?? (await statefulSetOf(client, endpoints, names));
    const plan = await scaleDown(endpoints, sts, to, { client, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), log: (l) => process.stdout.write(`${l}\n`) });
    process.stdout.write(
      plan.remove.length === 0
        ? `nothing to remove: the members are ${plan.keep.join(", ")}\n`
        : `members now: ${plan.keep.join(", ")}. Now lower the StatefulSet's replicas to ${to} (ETCDKIT_K8S_REPLICAS_<N>=${to} npx etcdkit deploy <stack>).\n`,
    );
    return 0;
  } catch (e) {
    process.stderr.write(`etcdkit k8s scale-down: ${(e as Error).message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

/** The StatefulSet name shared by the member names (`<sts>-<ordinal>`). */
async function statefulSetOf(client: ReturnType<typeof grpcClusterClient>, endpoints: readonly string[], seen: Set<string>): Promise<string> {
  let lastError: unknown;
  for (const u of endpoints) {
    try {
      for (const m of await client.members(u)) if (m.name) seen.add(m.name.replace(/-\d+$/, ""));
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (seen.size !== 1) throw new UsageError(seen.size === 0 ? `cannot list the members (${String((lastError as Error)?.message ?? "no answer")}): give --statefulset` : `members of several StatefulSets (${[...seen].join(", ")}): give --statefulset`);
  return [...seen][0]!;
}
