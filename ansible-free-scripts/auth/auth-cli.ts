/**
 * `etcdkit auth apply FILE`: users, roles and permissions of an auth file (README.md here) onto a
 * cluster, then auth enable. `etcdkit auth check FILE`: parse and check the file, read its passwords.
 */
import { parseArgs } from "node:util";
import { err, out } from "../backup/cli-output.js";
import { loadAuthFile, resolvePasswords } from "./auth-file.js";
import { applyAuth } from "./auth-apply.js";
import { parseEndpoints, type TlsFiles } from "../backup/snapshot-client.js";
import { isHealthy, waitFor } from "../common/health.js";

const HELP = `Usage: etcdkit auth apply FILE [options]
       etcdkit auth check FILE

apply: creates the users, roles, permissions and role grants of FILE that the cluster lacks, corrects
what differs (a permission's type, a password that does not authenticate), then enables auth. A
re-run changes nothing and says so. Users, roles, grants and permissions the file does not name are
kept (and listed) unless --prune. Passwords come from the variables and files FILE names.
check: the file's form and that every password it names can be read here.

Which cluster (one of):
  --endpoints URLS      comma-separated client URLs (http://, https://, or host:port)
  --name NAME | --dir DIR
                        a local cluster (etcdkit local); with neither, the only local cluster

Options:
  --cacert FILE --cert FILE --key FILE
                        TLS (a local cluster's own certificates are used when none is given)
  --wait SECONDS        first wait up to SECONDS until one of the endpoints answers /health as
                        healthy (a leader and a quorum), as a Job or unit started with the members does
  --prune               delete users, roles, grants and permissions FILE does not name
  --dry-run             print what would change, change nothing
  -h, --help            this help
`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        endpoints: { type: "string" },
        name: { type: "string" },
        dir: { type: "string" },
        cacert: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        prune: { type: "boolean" },
        wait: { type: "string" },
        "dry-run": { type: "boolean" },
      },
    });
  } catch (e) {
    err(`etcdkit auth: ${(e as Error).message}\n`);
    err(HELP);
    return 2;
  }
  const { values: o, positionals } = parsed;
  if (o.help) {
    out(HELP);
    return 0;
  }
  const [cmd, file, ...extra] = positionals;
  if ((cmd !== "apply" && cmd !== "check") || !file || extra.length > 0) {
    err(HELP);
    return 2;
  }
  try {
    const spec = loadAuthFile(file);
    if (cmd === "check") {
      resolvePasswords(spec);
      out(`${file}: ${spec.users.length} user(s), ${spec.roles.length} role(s); every password can be read`);
      return 0;
    }
    let tls: TlsFiles = { ...(o.cacert ? { cacert: o.cacert } : {}), ...(o.cert ? { cert: o.cert } : {}), ...(o.key ? { key: o.key } : {}) };
    let endpoints: string[];
    if (o.endpoints !== undefined) {
      if (o.name !== undefined || o.dir !== undefined) throw new Error("--endpoints and --name/--dir exclude each other");
      endpoints = o.endpoints.split(",").filter((s) => s.trim() !== "");
    } else {
      const local = await (await import("../local/cli.js")).openLocalCluster(o);
      endpoints = local.endpoints();
      if (local.tls && !o.cacert && !o.cert && !o.key) tls = { cacert: local.tls.ca, cert: local.tls.cert, key: local.tls.key };
    }
    if (o.wait !== undefined) await waitHealthy(endpoints, tls, o.wait);
    await applyAuth(spec, { endpoints, tls, prune: o.prune === true, dryRun: o["dry-run"] === true, log: out });
    return 0;
  } catch (e) {
    err(`etcdkit auth ${cmd}: ${(e as Error).message}`);
    return 1;
  }
}

/** --wait: one endpoint healthy (etcd's /health needs a leader and a quorum read) before any call. */
async function waitHealthy(endpoints: readonly string[], tls: TlsFiles, seconds: string): Promise<void> {
  if (!/^[1-9]\d{0,5}$/.test(seconds)) throw new Error(`--wait takes whole seconds (1-999999), got "${seconds}"`);
  const urls = parseEndpoints(endpoints, tls).map((e) => e.url);
  const files = tls.cacert && tls.cert && tls.key ? { ca: tls.cacert, cert: tls.cert, key: tls.key } : undefined;
  out(`auth: waiting up to ${seconds} s for one of ${urls.join(", ")} to report healthy`);
  await waitFor(async () => (await Promise.all(urls.map((u) => isHealthy(u, 2000, files)))).some(Boolean), Number(seconds) * 1000, `a healthy member among ${urls.join(", ")}`, undefined, 1000);
}
