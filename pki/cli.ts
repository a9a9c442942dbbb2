/** `etcdkit pki`: a CA, member certificates and client certificates for a test cluster. */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { planTopology, type HostSpec, type TopologyPlan } from "../topology/topology.js";
import { TopologyError } from "../topology/errors.js";
import { ensurePki, PkiError, DEFAULT_CA_DAYS, DEFAULT_LEAF_DAYS, RENEW_BEFORE_DAYS, type PkiMember } from "./pki.js";
import { caPaths, clientPaths } from "./layout.js";
import { membersFromPlan } from "./plan-pki.js";

export { membersFromPlan };

export const HELP = `Usage: etcdkit pki [options]

Creates (or completes) the PKI of a test cluster: a CA, a server and a peer certificate per member and
client certificates, as ECDSA P-256 keys and X.509 certificates made with @peculiar/x509.

Members, either from the topology model (the same names and addresses the stacks and runners deploy):
  --size N              1, 3, 5 or 7 members
  --target T            docker (default), local or hosts
  --stack-name NAME     default etcd-<size>
  --hosts A,B,...       hosts target: each member's address or DNS name, in order
  --addresses A,B,...   docker target: static member addresses (default: the topology's)
or listed one by one (repeatable):
  --member NAME=HOST[,HOST...]
Each member certificate's SANs: its name, its addresses and host names (docker: the container name too),
127.0.0.1 and localhost. Member certificates allow server and client authentication.

Other options:
  --dir DIR             output directory (default .etcdkit/pki/<stack name>, or .etcdkit/pki/cluster with --member)
  --client USER         also make a client certificate with CN=USER (repeatable); "root" is always made
  --new-ca              replace an existing CA (and so issue every certificate again)
  --renew               issue every member and client certificate again (the CA is kept)
  --days N              validity of member and client certificates (default ${DEFAULT_LEAF_DAYS})
  --ca-days N           validity of a new CA (default ${DEFAULT_CA_DAYS})
  --json                print the result as JSON
  -h, --help            this help

Output layout (directories 0700, keys 0600):
  <dir>/ca.crt, ca.key
  <dir>/members/<name>/server.crt, server.key    --cert-file, --key-file
  <dir>/members/<name>/peer.crt, peer.key        --peer-cert-file, --peer-key-file
  <dir>/clients/<user>.crt, <user>.key           etcdctl --cert, --key (CN=<user>, no SANs)

Running it again keeps the CA and every certificate that still fits (same CA, same CN, SANs covering
the ones asked for, valid for more than ${RENEW_BEFORE_DAYS} more days); the rest is issued again.
Check the result with: openssl verify -CAfile <dir>/ca.crt <dir>/members/*/*.crt <dir>/clients/*.crt
`;

export async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (e) {
    process.stderr.write(`etcdkit pki: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    const { members, stackName } = membersOf(values);
    const dir = resolve(values.dir ?? join(".etcdkit", "pki", stackName));
    const result = await ensurePki({
      dir,
      members,
      clients: values.client ?? [],
      newCa: values["new-ca"] ?? false,
      renew: values.renew ?? false,
      leafDays: positive("--days", values.days, DEFAULT_LEAF_DAYS),
      caDays: positive("--ca-days", values["ca-days"], DEFAULT_CA_DAYS),
    });
    if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    else {
      for (const e of result.entries) process.stdout.write(`${e.action.padEnd(8)} ${e.what.padEnd(28)} ${e.cert}\n`);
      const root = clientPaths(dir, "root");
      process.stdout.write(`\nCA: ${caPaths(dir).cert}\netcdctl: --cacert=${caPaths(dir).cert} --cert=${root.cert} --key=${root.key}\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof PkiError || e instanceof TopologyError || e instanceof UsageError) {
      process.stderr.write(`etcdkit pki: ${e.message}\n`);
      return e instanceof UsageError ? 2 : 1;
    }
    throw e;
  }
}

class UsageError extends Error {}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      size: { type: "string" },
      target: { type: "string" },
      "stack-name": { type: "string" },
      hosts: { type: "string" },
      addresses: { type: "string" },
      member: { type: "string", multiple: true },
      dir: { type: "string" },
      client: { type: "string", multiple: true },
      "new-ca": { type: "boolean" },
      renew: { type: "boolean" },
      days: { type: "string" },
      "ca-days": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

type Values = ReturnType<typeof parse>["values"];

/** The members from --member entries, or from the topology model. */
function membersOf(v: Values): { members: PkiMember[]; stackName: string } {
  if (v.member && v.member.length > 0) {
    if (v.size || v.target || v.hosts || v.addresses) throw new UsageError("--member cannot be combined with --size, --target, --hosts or --addresses");
    const members = v.member.map((entry) => {
      const eq = entry.indexOf("=");
      const name = eq < 0 ? entry : entry.slice(0, eq);
      const hosts = eq < 0 ? [] : entry.slice(eq + 1).split(",").filter(Boolean);
      return { name, hosts: [name, ...hosts] };
    });
    return { members, stackName: v["stack-name"] ?? "cluster" };
  }
  if (!v.size) throw new UsageError("give the members: --size N (with --target ...) or --member NAME=HOST,... (see --help)");
  const target = (v.target ?? "docker") as "docker" | "local" | "hosts";
  const hosts: HostSpec[] | undefined = v.hosts ? v.hosts.split(",").map((address) => ({ address })) : undefined;
  const plan = planTopology({
    size: Number(v.size),
    target,
    ...(v["stack-name"] ? { stackName: v["stack-name"] } : {}),
    ...(hosts ? { hosts } : {}),
    ...(v.addresses ? { addresses: v.addresses.split(",") } : {}),
  });
  return { members: membersFromPlan(plan), stackName: plan.stackName };
}

function positive(flag: string, raw: string | undefined, def: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} takes a positive whole number of days, got "${raw}"`);
  return n;
}
