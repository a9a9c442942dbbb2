/** `etcdkit ssh deploy|rolling-restart|status|restore|teardown --inventory FILE [--dry-run]`. */
import { parseArgs } from "node:util";
import { loadInventory } from "./inventory.js";
import { SshRemote } from "./remote.js";
import { deploy, rollingRestart, status, teardown } from "./deploy.js";
import { sshRestore } from "./restore.js";

const COMMON = `Options:
  --inventory FILE   YAML or JSON inventory: a list of hosts, or {cluster: {...}, hosts: [...]}
                     (see ansible-free-scripts/README.md)
  --dry-run          print every remote command (ssh with its script, scp) and run none
  --insecure         plaintext http:// without certificates (as cluster.insecure: true). Default: TLS
                     on client and peer ports; deploy makes the PKI (cluster.pkiDir, default
                     .etcdkit/pki/<cluster>) if missing and copies each member's certificates to
                     <cluster.certDir>/<member>/ (default /etc/etcdkit/pki), keys 0600 and folder 0700
                     owned by cluster.user; checks use the PKI's root client certificate. Use the same
                     setting for every command of one cluster.
  -h, --help         this help
`;

const HELP: Record<string, string> = {
  main: `Usage: etcdkit ssh <command> --inventory FILE [--dry-run]

Deploy an etcd-ts (or etcd) cluster to hosts over SSH with systemd (or, where systemd is not
running, a small supervisor under the deploy dir). Uses your OpenSSH client, config and agent.

Commands:
  deploy            check every host, then copy the server bundle, env files and units, start, wait for health
  rolling-restart   restart one member at a time (leader last), waiting for health in between
  status            service state, health and leader of every member
  restore           rebuild every member's data from a snapshot (--from FILE), then start the cluster
  teardown          stop, disable and remove units, env files, data and the deploy dir

${COMMON}`,
  deploy: `Usage: etcdkit ssh deploy --inventory FILE [--dry-run]

Checks that every host answers and has what the deployment needs (failing before anything is
changed), uploads the etcd-ts bundle (only if it changed), writes each member's env file and unit
(only if changed), runs systemctl daemon-reload and enable/start (or the supervisor), restarts
members whose files changed, and waits for every member's /health. Safe to re-run.
--auth FILE (or cluster.auth): then applies that auth file from this machine (users, roles,
permissions, then auth enable; ansible-free-scripts/auth/README.md). Its passwords are read here, from
the variables and files it names, and never reach the hosts' files. A re-run changes nothing.

${COMMON}`,
  "rolling-restart": `Usage: etcdkit ssh rolling-restart --inventory FILE [--dry-run]

Restarts one member at a time, followers first and the leader last, waiting for the member and
the whole cluster to be healthy before the next one.

${COMMON}`,
  status: `Usage: etcdkit ssh status --inventory FILE [--json]

Prints every member's service state (systemd or supervisor), /health and whether it leads.

${COMMON}  --json             machine-readable output
`,
  restore: `Usage: etcdkit ssh restore --inventory FILE --from SNAPSHOT [--token TOKEN] [--dry-run]

Disaster recovery of a deployed etcd-ts cluster from a snapshot (etcdkit backup, or etcdctl snapshot
save against etcd-ts), as etcd's recovery guide does it. The snapshot is checked here first by a
trial restore (sha256, format): a bad file changes nothing. Then every member is stopped; its new
data dir built on its host by \`etcd-ts snapshot restore\` with the member's own name and peer URL and
a new cluster token (a new cluster ID, so nothing from before can rejoin); only then the old data dir
moved aside to <data dir>.pre-restore-<UTC time> (kept; remove it yourself once satisfied) and the
new one put in its place; and every member started. The command waits for every member's /health.
Every key and revision is the snapshot's.

${COMMON}  --from FILE        the snapshot on this machine (required)
  --token TOKEN      initial cluster token of the restored cluster (default <token>-restored-<time>)
`,
  teardown: `Usage: etcdkit ssh teardown --inventory FILE [--dry-run]

Stops and disables every member, removes its unit, env file, log and data directory, and removes
the deploy dir from hosts where no member is left. Safe to re-run.

${COMMON}`,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : s + "\n");
  const err = (s: string) => process.stderr.write(s.endsWith("\n") ? s : s + "\n");
  if (!cmd || cmd === "-h" || cmd === "--help" || cmd === "help") {
    out(HELP.main!);
    return cmd ? 0 : 2;
  }
  if (!(cmd in HELP) || cmd === "main") {
    err(`etcdkit ssh: unknown command "${cmd}"\n\n${HELP.main}`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        inventory: { type: "string", short: "i" },
        "dry-run": { type: "boolean" },
        insecure: { type: "boolean" },
        auth: { type: "string" },
        json: { type: "boolean" },
        from: { type: "string" },
        token: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    err(`etcdkit ssh ${cmd}: ${(e as Error).message}\n\n${HELP[cmd]}`);
    return 2;
  }
  if (values.help) {
    out(HELP[cmd]!);
    return 0;
  }
  if ((values.from !== undefined || values.token !== undefined) && cmd !== "restore") {
    err(`etcdkit ssh ${cmd}: --from and --token go with restore only\n\n${HELP[cmd]}`);
    return 2;
  }
  if (cmd === "restore" && !values.from) {
    err(`etcdkit ssh restore: --from SNAPSHOT is required\n\n${HELP[cmd]}`);
    return 2;
  }
  if (!values.inventory) {
    err(`etcdkit ssh ${cmd}: --inventory FILE is required\n\n${HELP[cmd]}`);
    return 2;
  }
  try {
    const inv = loadInventory(values.inventory, { insecure: values.insecure === true, ...(values.auth !== undefined ? { auth: values.auth } : {}) });
    const opts = { remote: new SshRemote(!!values["dry-run"], out), log: out };
    switch (cmd) {
      case "deploy":
        await deploy(inv, opts);
        break;
      case "rolling-restart":
        await rollingRestart(inv, opts);
        break;
      case "teardown":
        await teardown(inv, opts);
        break;
      case "restore":
        await sshRestore(inv, { ...opts, from: values.from!, ...(values.token !== undefined ? { token: values.token } : {}) });
        break;
      case "status": {
        const rows = await status(inv, opts);
        if (values.json) out(JSON.stringify({ cluster: inv.plan.stackName, endpoints: inv.plan.endpoints, members: rows }, null, 2));
        else {
          out(`${"MEMBER".padEnd(10)}${"HOST".padEnd(22)}${"SERVICE".padEnd(26)}${"HEALTH".padEnd(11)}${"LEADER".padEnd(8)}CLIENT URL`);
          for (const r of rows) out(`${r.name.padEnd(10)}${r.host.padEnd(22)}${r.service.padEnd(26)}${(r.healthy ? "healthy" : "unhealthy").padEnd(11)}${(r.leader ? "*" : "").padEnd(8)}${r.clientUrl}`);
          out(`${inv.plan.etcdctl} endpoint status -w table`);
        }
        break;
      }
    }
    return 0;
  } catch (e) {
    err(`etcdkit ssh ${cmd}: ${(e as Error).message}`);
    return 1;
  }
}
