/** `etcdkit local ...`: run a cluster as local processes. */
import { existsSync, readdirSync, statSync, openSync, readSync, closeSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { isHealthy, isLeader, sleep } from "../common/health.js";
import { LocalCluster } from "./cluster.js";

const ROOT = join(".etcdkit", "local");

const HELP: Record<string, string> = {
  main: `Usage: etcdkit local <command> [options]

Run an etcd-ts (or etcd) cluster as processes on this machine, all on 127.0.0.1.

Commands:
  up --members N        start a cluster of 1, 3, 5 or 7 members and wait until every member is healthy
  status                members, pid, state, health, leader
  logs NAME [-f]        print (or follow) a member's log
  stop NAME             SIGTERM a member and wait for it to exit (SIGKILL after 10 s)
  kill NAME             SIGKILL a member (--signal SIG for another signal)
  start NAME            start a stopped member again with its data
  pause NAME            SIGSTOP a member
  resume NAME           SIGCONT a paused member
  down                  stop every member this cluster started and remove its directory

Options shared by every command:
  --name NAME           cluster name (default etcd-<members> for up; for the other commands, the only
                        cluster under ${ROOT}/ when there is one)
  --dir DIR             cluster directory (default ${ROOT}/<name>)
  -h, --help            help for a command: etcdkit local up --help
`,
  up: `Usage: etcdkit local up --members N [options]

Renders each member's env file and systemd unit into the cluster directory, starts each member from
its unit's ExecStart= with its EnvironmentFile= (detached; logs in <dir>/<member>.log), waits for
every member's /health and prints the endpoints.

Options:
  --members N           1, 3, 5 or 7 (required)
  --server KIND         etcd-ts (default: node bin/etcd-ts.js), etcd (the etcd binary on PATH) or a path to a binary
  --name NAME           cluster name (default etcd-<members>)
  --dir DIR             state and data directory (default ${ROOT}/<name>)
  --base-port PORT      member i listens on PORT+2(i-1) (client) and PORT+2(i-1)+1 (peer);
                        default: the first free block from 32379 in steps of 20
  --token TOKEN         initial cluster token (default etcdkit-<name>-<random>)
  --heartbeat MS        heartbeat interval (default 100)
  --election MS         election timeout (default 1000)
  --snapshot-count N    snapshot count (default 100000)
  --env KEY=VALUE       extra environment for every member (repeatable)
  --insecure            plaintext http:// without certificates (default: TLS on client and peer
                        ports, certificates made in <dir>/pki, client certificates required)
  --timeout MS          how long to wait for health (default 30000)
  --auth FILE           once healthy, apply this auth file (users, roles, permissions; see
                        ansible-free-scripts/auth/README.md) and turn auth on; root's password is kept in
                        <dir>/root.password (0600) for the kit's later commands (backup, bench, auth apply)
`,
  status: `Usage: etcdkit local status [--name NAME | --dir DIR] [--json]

Prints every member's pid, process state (running, paused, stopped), /health and whether it is the leader.
`,
  logs: `Usage: etcdkit local logs NAME [-f] [--name CLUSTER | --dir DIR]

Prints the member's log file; -f keeps following it until interrupted.
`,
  stop: `Usage: etcdkit local stop MEMBER [--name CLUSTER | --dir DIR]

Sends SIGTERM and waits for the member to exit (SIGKILL after 10 s).
`,
  kill: `Usage: etcdkit local kill MEMBER [--signal SIG] [--name CLUSTER | --dir DIR]

Sends SIGKILL (or SIG) and waits for the member to exit.
`,
  start: `Usage: etcdkit local start MEMBER [--timeout MS] [--name CLUSTER | --dir DIR]

Starts a stopped member again from its unit and env file, with its existing data, and waits for its /health.
`,
  pause: `Usage: etcdkit local pause MEMBER [--name CLUSTER | --dir DIR]

Freezes the member with SIGSTOP (resume with \`etcdkit local resume MEMBER\`).
`,
  resume: `Usage: etcdkit local resume MEMBER [--name CLUSTER | --dir DIR]

Continues a paused member with SIGCONT.
`,
  down: `Usage: etcdkit local down [--name CLUSTER | --dir DIR]

Stops exactly the processes the cluster started (by PID, checking they are still the same processes)
and removes the cluster directory: data, env files, units, logs and state.
`,
};

const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : s + "\n");
const err = (s: string) => process.stderr.write(s.endsWith("\n") ? s : s + "\n");

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "-h" || cmd === "--help" || cmd === "help") {
    out(HELP.main!);
    return cmd ? 0 : 2;
  }
  if (!(cmd in HELP) || cmd === "main") {
    err(`etcdkit local: unknown command "${cmd}"\n`);
    err(HELP.main!);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        name: { type: "string" },
        dir: { type: "string" },
        members: { type: "string" },
        server: { type: "string" },
        "base-port": { type: "string" },
        token: { type: "string" },
        heartbeat: { type: "string" },
        election: { type: "string" },
        "snapshot-count": { type: "string" },
        env: { type: "string", multiple: true },
        timeout: { type: "string" },
        follow: { type: "boolean", short: "f" },
        signal: { type: "string" },
        json: { type: "boolean" },
        insecure: { type: "boolean" },
        auth: { type: "string" },
      },
    });
  } catch (e) {
    err(`etcdkit local ${cmd}: ${(e as Error).message}\n`);
    err(HELP[cmd]!);
    return 2;
  }
  const { values: o, positionals } = parsed;
  if (o.help) {
    out(HELP[cmd]!);
    return 0;
  }
  try {
    switch (cmd) {
      case "up":
        return await up(o);
      case "status":
        return await status(await openLocalCluster(o), !!o.json);
      case "down": {
        const c = await openLocalCluster(o, true);
        await c.down();
        return 0;
      }
      case "logs":
        return await logs(await openLocalCluster(o), memberArg(cmd, positionals), !!o.follow);
      default: {
        const c = await openLocalCluster(o, true);
        const member = memberArg(cmd, positionals);
        if (cmd === "stop") await c.stop(member);
        else if (cmd === "kill") await c.kill(member, (o.signal ?? "SIGKILL") as NodeJS.Signals);
        else if (cmd === "start") {
          await c.start(member);
          await c.waitHealthy([member], num("--timeout", o.timeout) ?? 30_000);
          out(`${member}: healthy`);
        } else if (cmd === "pause") await c.pause(member);
        else if (cmd === "resume") await c.resume(member);
        return 0;
      }
    }
  } catch (e) {
    err(`etcdkit local ${cmd}: ${(e as Error).message}`);
    return 1;
  }
}

type Opts = Record<string, string | boolean | string[] | undefined>;

function num(flag: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${flag} wants an integer, got "${String(v)}"`);
  return n;
}

function memberArg(cmd: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new Error(`${cmd} needs exactly one member name (etcdkit local ${cmd} --help)`);
  return positionals[0]!;
}

async function up(o: Opts): Promise<number> {
  const members = num("--members", o.members);
  if (members === undefined) throw new Error("--members N is required (1, 3, 5 or 7)");
  const extraEnv: Record<string, string> = {};
  for (const kv of (o.env as string[] | undefined) ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new Error(`--env wants KEY=VALUE, got "${kv}"`);
    extraEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const opt = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  const c = await LocalCluster.up({
    members: members as 1 | 3 | 5 | 7,
    ...opt("server", o.server as string | undefined),
    ...opt("name", o.name as string | undefined),
    ...opt("dir", o.dir as string | undefined),
    ...opt("basePort", num("--base-port", o["base-port"])),
    ...opt("token", o.token as string | undefined),
    ...opt("heartbeatMs", num("--heartbeat", o.heartbeat)),
    ...opt("electionMs", num("--election", o.election)),
    ...opt("snapshotCount", num("--snapshot-count", o["snapshot-count"])),
    ...opt("healthTimeoutMs", num("--timeout", o.timeout)),
    extraEnv,
    insecure: o.insecure === true,
    ...opt("authFile", o.auth as string | undefined),
    onProgress: (msg) => out(msg),
  });
  const leader = await c.leader();
  out("");
  for (const m of c.members) out(`  ${m.name.padEnd(8)} ${m.clientUrl}  pid ${m.pid}${m.name === leader ? "  (leader)" : ""}`);
  out("");
  out(`endpoints: ${c.endpoints().join(",")}`);
  out(`${c.etcdctl()} endpoint status -w table`);
  out(`stop it:   etcdkit local down --dir ${c.dir}`);
  return 0;
}

/** --dir, else --name, else the only cluster under .etcdkit/local (also how `etcdkit backup` finds one). */
export async function openLocalCluster(o: Opts, verbose = false): Promise<LocalCluster> {
  const progress = verbose ? (msg: string) => out(msg) : undefined;
  if (o.dir) return LocalCluster.attach(o.dir as string, progress);
  if (o.name) return LocalCluster.attach(join(ROOT, o.name as string), progress);
  const found = existsSync(ROOT) ? readdirSync(ROOT).filter((d) => existsSync(join(ROOT, d, "state.json"))) : [];
  if (found.length === 1) return LocalCluster.attach(join(ROOT, found[0]!), progress);
  if (found.length === 0) throw new Error(`no local cluster under ${resolve(ROOT)} (start one with etcdkit local up, or pass --dir)`);
  throw new Error(`several local clusters under ${resolve(ROOT)}: pass --name (${found.join(", ")})`);
}

async function status(c: LocalCluster, json: boolean): Promise<number> {
  const rows = await Promise.all(
    c.members.map(async (m) => {
      const up = m.running && !m.paused;
      const [healthy, leader] = up ? await Promise.all([isHealthy(m.clientUrl, 1000, c.tls), isLeader(m.clientUrl, 1000, c.tls)]) : [false, undefined];
      return { name: m.name, pid: m.pid ?? null, state: m.running ? (m.paused ? "paused" : "running") : "stopped", healthy, leader: leader === true, clientUrl: m.clientUrl, log: m.logFile };
    }),
  );
  if (json) {
    out(JSON.stringify({ name: c.name, dir: c.dir, server: c.server, endpoints: c.endpoints(), tls: c.tls ?? null, auth: c.auth ?? null, members: rows }, null, 2));
    return 0;
  }
  out(`cluster ${c.name} (${c.server}) in ${c.dir}${c.tls ? "" : " (PLAINTEXT: started with --insecure)"}`);
  out(`${"MEMBER".padEnd(10)}${"PID".padEnd(9)}${"STATE".padEnd(9)}${"HEALTH".padEnd(11)}${"LEADER".padEnd(8)}CLIENT URL`);
  for (const r of rows) {
    out(`${r.name.padEnd(10)}${String(r.pid ?? "-").padEnd(9)}${r.state.padEnd(9)}${(r.healthy ? "healthy" : "unhealthy").padEnd(11)}${(r.leader ? "*" : "").padEnd(8)}${r.clientUrl}`);
  }
  const leader = rows.find((r) => r.leader);
  out(`leader: ${leader ? leader.name : "none"}`);
  if (c.auth) out(`auth: on (applied from ${c.auth.file}; root's password in ${c.auth.passwordFile})`);
  out(`${c.etcdctl()} endpoint status -w table`);
  return 0;
}

async function logs(c: LocalCluster, member: string, follow: boolean): Promise<number> {
  const m = c.members.find((x) => x.name === member);
  if (!m) throw new Error(`no member "${member}" (members: ${c.members.map((x) => x.name).join(", ")})`);
  if (!existsSync(m.logFile)) throw new Error(`${m.logFile} does not exist yet`);
  let pos = 0;
  const pump = () => {
    const size = statSync(m.logFile).size;
    if (size < pos) pos = 0;
    if (size === pos) return;
    const fd = openSync(m.logFile, "r");
    try {
      const buf = Buffer.alloc(size - pos);
      readSync(fd, buf, 0, buf.length, pos);
      process.stdout.write(buf);
      pos = size;
    } finally {
      closeSync(fd);
    }
  };
  pump();
  if (!follow) return 0;
  let stop = false;
  process.once("SIGINT", () => (stop = true));
  while (!stop && existsSync(m.logFile)) {
    await sleep(250);
    pump();
  }
  return 0;
}
