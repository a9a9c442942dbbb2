/**
 * `etcdkit backup`: a verified snapshot of a cluster from its leader, kept with retention.
 * It also runs on bare hosts from the etcd-ts bundle (the scheduled backup's service), which holds
 * this folder's backup files and dist/server only: what --stack-outputs and the local runner need is
 * imported when they are used.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { err, out } from "./cli-output.js";
import { takeBackup } from "./backup.js";
import { parseAge, type RetentionRule } from "./retention.js";
import { parseEndpoints, type TlsFiles } from "./snapshot-client.js";
import { credentialsFromFlags, USER_FLAGS_HELP } from "../auth/user-flags.js";

export const DEFAULT_BACKUP_DIR = ".etcdkit/backups";

const HELP = `Usage: etcdkit backup [options]

Saves a snapshot of a cluster from its leader (found with Status over the endpoints) through the
Maintenance.Snapshot stream, checks its sha256 trailer, writes it atomically (temp file, fsync,
rename) as <backup-dir>/<cluster>-<UTC timestamp>.db with a JSON sidecar <...>.json (revision,
keys, size, sha256, leader, members), then removes expired backups of that cluster.
The file is what \`etcdctl snapshot save\` writes; \`etcd-ts snapshot status FILE\` reads it and
\`etcdkit restore --from FILE\` builds a new cluster from it.

Which cluster (one of):
  --endpoints URLS      comma-separated client URLs (http://, https://, or host:port)
  --stack-outputs FILE  a CDKTF stack's outputs file (cdktf output --outputs-file)
  --name NAME | --dir DIR
                        a local cluster (etcdkit local); with none of these, the only local cluster

Options:
  --cluster NAME        name in the backup file names (default: the local cluster's name, else "etcd")
  --backup-dir DIR      where backups go (default ${DEFAULT_BACKUP_DIR}; created if missing)
  --keep N              keep the newest N backups of this cluster (N >= 1)
  --max-age AGE         remove backups older than AGE (e.g. 7d, 36h, 90m, 2w); the newest is always kept
  --cacert FILE         CA bundle to verify the members' certificates (TLS)
  --cert FILE --key FILE
                        client certificate and key (TLS client authentication)
${USER_FLAGS_HELP}
                        (a snapshot is root's: a user with the root role; a local cluster started with
                        --auth uses its recorded root password when --user is not given)
  --json                print the sidecar as JSON when done
  -h, --help            this help
`;


function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9]\d{0,5}$/.test(v)) throw new Error(`${flag} wants a whole number >= 1, got "${v}"`);
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
        endpoints: { type: "string" },
        "stack-outputs": { type: "string" },
        name: { type: "string" },
        dir: { type: "string" },
        cluster: { type: "string" },
        "backup-dir": { type: "string" },
        keep: { type: "string" },
        "max-age": { type: "string" },
        cacert: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        json: { type: "boolean" },
        user: { type: "string" },
        "password-file": { type: "string" },
      },
    });
  } catch (e) {
    err(`etcdkit backup: ${(e as Error).message}\n`);
    err(HELP);
    return 2;
  }
  const o = parsed.values;
  if (o.help) {
    out(HELP);
    return 0;
  }
  try {
    const sources = [o.endpoints, o["stack-outputs"], o.name ?? o.dir].filter((x) => x !== undefined).length;
    if (sources > 1) throw new Error("--endpoints, --stack-outputs and --name/--dir exclude each other");
    if (o.cluster !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(o.cluster)) throw new Error(`--cluster wants a DNS label (a-z, 0-9, '-'), got "${o.cluster}"`);
    const retention: RetentionRule = {
      ...(o.keep !== undefined ? { keep: positiveInt("--keep", o.keep)! } : {}),
      ...(o["max-age"] !== undefined ? { maxAgeMs: parseAge(o["max-age"]) } : {}),
    };
    let tls: TlsFiles = { ...(o.cacert ? { cacert: o.cacert } : {}), ...(o.cert ? { cert: o.cert } : {}), ...(o.key ? { key: o.key } : {}) };
    let urls: string[];
    let cluster = o.cluster;
    let credentials = credentialsFromFlags(o.user, o["password-file"]);
    if (o.endpoints !== undefined) urls = o.endpoints.split(",").filter((s) => s.trim() !== "");
    else if (o["stack-outputs"] !== undefined) urls = (await import("../../bench/target.js")).endpointsFromStackOutputs(o["stack-outputs"]);
    else {
      const local = await (await import("../local/cli.js")).openLocalCluster(o);
      urls = local.endpoints();
      cluster ??= local.name;
      // a local TLS cluster: its PKI's root client certificate, as `etcdkit local` itself uses, unless given
      if (local.tls && !o.cacert && !o.cert && !o.key) tls = { cacert: local.tls.ca, cert: local.tls.cert, key: local.tls.key };
      credentials ??= local.credentials();
    }
    const endpoints = parseEndpoints(urls, tls);
    const dir = resolve(o["backup-dir"] ?? DEFAULT_BACKUP_DIR);
    mkdirSync(dir, { recursive: true });
    const r = await takeBackup({ cluster: cluster ?? "etcd", dir, endpoints, tls, retention, ...(credentials ? { credentials } : {}), onProgress: (m) => out(`backup: ${m}`) });
    if (o.json) out(JSON.stringify(r.sidecar, null, 2));
    else out(r.path);
    return 0;
  } catch (e) {
    err(`etcdkit backup: ${(e as Error).message}`);
    return 1;
  }
}
