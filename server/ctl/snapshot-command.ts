/**
 * `etcd-ts snapshot status|restore`: etcdctl's snapshot commands (same flags, defaults, output and
 * exit codes) for etcd-ts's snapshot files, which etcdctl cannot read (they hold lmdb, not bbolt).
 * `snapshot save` is etcdctl's own: it works against etcd-ts's Snapshot RPC unchanged.
 */
import { join } from "node:path";
import { ConfigError } from "../config/errors.js";
import { parseInitialCluster } from "../config/parse.js";
import { checkUrls } from "../config/validate-url.js";
import { restoreSnapshot } from "../etcdserver/backup/snapshot-restore.js";
import { snapshotStatus } from "../etcdserver/backup/snapshot-status.js";
import { createLogger } from "../log/logger.js";
import { CliError, flagHelp, parseArgs, type FlagSpec } from "./cli-flags.js";
import { formatDbStatus } from "./db-status-print.js";

const HELP: FlagSpec = { name: "help", short: "h", kind: "bool", default: "false", usage: "help for this command" };
const STATUS_FLAGS: readonly FlagSpec[] = [
  { name: "write-out", short: "w", kind: "string", default: "simple", usage: "set the output format (fields, json, simple, table)" },
  HELP,
];
const RESTORE_FLAGS: readonly FlagSpec[] = [
  { name: "data-dir", kind: "string", default: "", usage: "Path to the data directory" },
  { name: "wal-dir", kind: "string", default: "", usage: "Path to the WAL directory (use --data-dir if none given)" },
  { name: "initial-cluster", kind: "string", default: "default=http://localhost:2380", usage: "Initial cluster configuration for restore bootstrap" },
  { name: "initial-cluster-token", kind: "string", default: "etcd-cluster", usage: "Initial cluster token for the etcd cluster during restore bootstrap" },
  { name: "initial-advertise-peer-urls", kind: "string", default: "http://localhost:2380", usage: "List of this member's peer URLs to advertise to the rest of the cluster" },
  { name: "name", kind: "string", default: "default", usage: "Human-readable name for this member" },
  { name: "skip-hash-check", kind: "bool", default: "false", usage: "Ignore snapshot integrity hash value (required if copied from data directory)" },
  HELP,
];

export interface CommandOutput {
  stdout(s: string): void;
  stderr(s: string): void;
}

const USAGE = `Manages etcd-ts snapshot files (etcdctl's snapshot commands; save with etcdctl)

Usage:
  etcd-ts snapshot <subcommand>

Available Commands:
  restore     Restores an etcd member snapshot to an etcd directory
  status      Gets backend snapshot status of a given file
`;

/** Runs `etcd-ts snapshot ...` (argv after "snapshot"); resolves with the exit code. */
export async function snapshotCommand(argv: readonly string[], out: CommandOutput): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case "status":
        return await status(rest, out);
      case "restore":
        return await restore(rest, out);
      case undefined:
      case "-h":
      case "--help":
      case "help":
        out.stdout(USAGE);
        return 0;
      default:
        throw new CliError(`unknown command "${sub}" for "etcd-ts snapshot"`);
    }
  } catch (e) {
    const code = e instanceof CliError ? e.exitCode : 1;
    out.stderr(`Error: ${e instanceof Error ? e.message : String(e)}\n`);
    return code;
  }
}

async function status(argv: readonly string[], out: CommandOutput): Promise<number> {
  const { flags, args } = parseArgs(argv, STATUS_FLAGS);
  if (flags.get("help") === "true") {
    out.stdout(`Gets backend snapshot status of a given file\n\nWhen --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.\nThe items in the lists are hash, revision, total keys, total size.\n\nUsage:\n  etcd-ts snapshot status <filename> [flags]\n\nFlags:\n${flagHelp(STATUS_FLAGS)}\n`);
    return 0;
  }
  if (args.length !== 1) throw new CliError("snapshot status requires exactly one argument", 128);
  const writeOut = flags.get("write-out")!;
  formatDbStatus({ hash: 0, revision: 0, totalKey: 0, totalSize: 0 }, writeOut); // an unknown format fails before any work
  out.stdout(formatDbStatus(await snapshotStatus(args[0]!), writeOut));
  return 0;
}

async function restore(argv: readonly string[], out: CommandOutput): Promise<number> {
  const { flags, args } = parseArgs(argv, RESTORE_FLAGS);
  if (flags.get("help") === "true") {
    out.stdout(`Restores an etcd member snapshot to an etcd directory\n\nUsage:\n  etcd-ts snapshot restore <filename> [options] [flags]\n\nFlags:\n${flagHelp(RESTORE_FLAGS)}\n`);
    return 0;
  }
  if (args.length !== 1) throw new CliError("snapshot restore requires exactly one argument", 128);
  const name = flags.get("name")!;
  const dataDir = flags.get("data-dir") || `${name}.etcd`;
  try {
    await restoreSnapshot(
      {
        snapshotPath: args[0]!,
        name,
        dataDir,
        walDir: flags.get("wal-dir") || join(dataDir, "member", "wal"),
        peerUrls: checkUrls("initial-advertise-peer-urls", flags.get("initial-advertise-peer-urls")!),
        initialCluster: parseInitialCluster(flags.get("initial-cluster")!),
        initialClusterToken: flags.get("initial-cluster-token")!,
        skipHashCheck: flags.get("skip-hash-check") === "true",
      },
      createLogger("info", ["stderr"]),
    );
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
  return 0;
}
