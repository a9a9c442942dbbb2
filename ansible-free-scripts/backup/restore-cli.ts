/** `etcdkit restore --from FILE`: a new local cluster whose members start from a backup (or, with --docker-stack, a Docker stack restored in place). */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { err, out } from "./cli-output.js";
import { LocalCluster } from "../local/cluster.js";
import { readSidecar } from "./backup.js";
import { restoreArgs } from "./restore-data.js";

const HELP = `Usage: etcdkit restore --from FILE [options]

Builds a new cluster of etcd-ts members on this machine (the local runner, as etcdkit local up) from
a snapshot file (etcdkit backup, or etcdctl snapshot save against etcd-ts): every member's data dir
is made by \`etcd-ts snapshot restore\` with the new cluster's names, peer URLs and token (a new
cluster ID, the snapshot's keys and revision), then the members start and the command waits for
every member's /health. The snapshot's sha256 is checked by the restore.

Options:
  --from FILE           the snapshot (required)
  --members N           1, 3, 5 or 7 (default: as many as the backup's sidecar lists, else 1)
  --name NAME           the new cluster's name (default: the backup's cluster name)
  --dir DIR             its directory (default .etcdkit/local/<name>; must not hold a running cluster)
  --base-port PORT      ports as etcdkit local up --base-port
  --token TOKEN         initial cluster token (default etcdkit-<name>-<random>)
  --timeout MS          how long to wait for health (default 30000)
  --print-commands      print the per-member restore commands for the backup's own members (their
                        names and peer URLs, from its sidecar) and exit: for clusters on hosts
  --data-dir-root DIR   with --print-commands: the members' data dirs are DIR/<member> (default /var/lib/etcdkit)
  --docker-stack NAME   restore a deployed Docker stack (etcd-1/3/5/7, as the ETCDKIT_* options declare it)
                        in place instead: snapshot checked here, member containers stopped, each data dir
                        rebuilt in its volume by a one-shot container of the members' image (the old one
                        kept as <data dir>.pre-restore-<time>), a new token, containers started, /health
                        waited for (takes --from and --token only)
  -h, --help            this help

Members deployed with etcdkit ssh: etcdkit ssh restore. Bare hosts installed by hand: see
ansible-free-scripts/README.md, "Backups and restore".
`;


function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new Error(`${flag} wants a whole number, got "${v}"`);
  return Number(v);
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        from: { type: "string" },
        members: { type: "string" },
        name: { type: "string" },
        dir: { type: "string" },
        "base-port": { type: "string" },
        token: { type: "string" },
        timeout: { type: "string" },
        "print-commands": { type: "boolean" },
        "data-dir-root": { type: "string" },
        "docker-stack": { type: "string" },
      },
    });
  } catch (e) {
    err(`etcdkit restore: ${(e as Error).message}\n`);
    err(HELP);
    return 2;
  }
  const o = parsed.values;
  if (o.help) {
    out(HELP);
    return 0;
  }
  try {
    if (!o.from) throw new Error("--from FILE is required");
    if (!existsSync(o.from)) throw new Error(`snapshot ${o.from} does not exist`);
    const sidecar = await readSidecar(o.from);
    if (sidecar?.format === "etcd") throw new Error(`${o.from} is a real etcd's snapshot (bbolt): restore it with etcdctl snapshot restore and etcd, not etcd-ts`);
    if (o["docker-stack"] !== undefined) {
      const other = ["members", "name", "dir", "base-port", "timeout", "print-commands", "data-dir-root"].filter((k) => o[k as keyof typeof o] !== undefined);
      if (other.length > 0) throw new Error(`--docker-stack takes --from and --token only, not --${other.join(", --")}`);
      const { restoreDockerStack } = await import("../../stacks/cli/docker-restore.js");
      await restoreDockerStack(o["docker-stack"], o.from, o.token, (m) => out(`restore: ${m}`));
      return 0;
    }
    const members = int("--members", o.members) ?? (sidecar?.members.length || 1);
    if (![1, 3, 5, 7].includes(members)) throw new Error(`--members wants 1, 3, 5 or 7, got ${members}`);
    const name = o.name ?? sidecar?.cluster ?? "etcd-restored";
    if (sidecar) out(`restore: ${o.from}: cluster ${sidecar.cluster}, revision ${sidecar.revision}, ${sidecar.totalKeys} backend rows, taken ${sidecar.takenAt}`);
    if (o["data-dir-root"] !== undefined && !o["print-commands"]) throw new Error("--data-dir-root only goes with --print-commands");
    if (o["print-commands"]) {
      const root = o["data-dir-root"] ?? "/var/lib/etcdkit";
      const hosts = [...(sidecar?.members ?? [])].sort((a, b) => a.name.localeCompare(b.name)).map((m) => ({ name: m.name, peerUrl: m.peerUrls[0]!, dataDir: `${root}/${m.name}` }));
      if (hosts.length === 0 || hosts.some((h) => !h.name || !h.peerUrl)) throw new Error("--print-commands needs the backup's sidecar with every member's name and peer URL");
      for (const args of restoreArgs(o.from, hosts, o.token ?? `${name}-restored`)) out(`etcd-ts ${args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ")}`);
      return 0;
    }
    const opt = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
    const c = await LocalCluster.up({
      members: members as 1 | 3 | 5 | 7,
      server: "etcd-ts",
      name,
      restoreFrom: o.from,
      ...opt("dir", o.dir),
      ...opt("basePort", int("--base-port", o["base-port"])),
      ...opt("token", o.token),
      ...opt("healthTimeoutMs", int("--timeout", o.timeout)),
      onProgress: (m) => out(`restore: ${m}`),
    });
    out(`endpoints: ${c.endpoints().join(",")}`);
    out(`${c.etcdctl()} endpoint status -w table`);
    return 0;
  } catch (e) {
    err(`etcdkit restore: ${(e as Error).message}`);
    return 1;
  }
}
