/**
 * The systemd unit of a member, rendered from the same plan as its env file, and the small parser
 * the local runner and the SSH supervisor use to start a member from the unit's own ExecStart= and
 * EnvironmentFile= lines (so the unit is the one source of how a member is started). Pure.
 */
import { TopologyError } from "./errors.js";

export interface UnitSpec {
  readonly memberName: string;
  readonly description?: string;
  readonly user: string;
  readonly group?: string;
  /** Absolute path of the member's ETCD_* env file. */
  readonly envFile: string;
  /** Absolute executable first, then its arguments. */
  readonly execStart: readonly string[];
  readonly workingDirectory?: string;
}

export function unitFileName(memberName: string): string {
  return `etcdkit-${memberName}.service`;
}

/** One argument as systemd's ExecStart= reads it back. */
export function quoteUnitArg(arg: string): string {
  const escaped = arg.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (escaped !== "" && !/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function renderUnit(spec: UnitSpec): string {
  if (spec.execStart.length === 0 || !spec.execStart[0]!.startsWith("/")) {
    throw new TopologyError(`ExecStart of ${spec.memberName} must start with an absolute executable, got ${JSON.stringify(spec.execStart[0])}`);
  }
  if (!spec.envFile.startsWith("/")) throw new TopologyError(`EnvironmentFile of ${spec.memberName} must be an absolute path, got "${spec.envFile}"`);
  const lines = [
    "[Unit]",
    `Description=${spec.description ?? `etcd member ${spec.memberName} (etcdkit)`}`,
    "Documentation=https://etcd.io/docs/",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    // The server reports readiness with sd_notify (READY=1); NotifyAccess=all also accepts it from a
    // helper process such as `systemd-notify --ready`.
    "Type=notify",
    "NotifyAccess=all",
    `User=${spec.user}`,
    ...(spec.group ? [`Group=${spec.group}`] : []),
    `EnvironmentFile=${spec.envFile}`,
    ...(spec.workingDirectory ? [`WorkingDirectory=${spec.workingDirectory}`] : []),
    `ExecStart=${spec.execStart.map(quoteUnitArg).join(" ")}`,
    "Restart=always",
    "RestartSec=5",
    "TimeoutStartSec=120",
    "LimitNOFILE=65536",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ];
  return lines.join("\n");
}

export interface ParsedUnit {
  readonly execStart: string[];
  readonly environmentFiles: string[];
  readonly user?: string;
  readonly workingDirectory?: string;
}

/** Reads back the [Service] settings the runners need. */
export function parseUnit(text: string): ParsedUnit {
  let section = "";
  let execStart: string[] | undefined;
  const environmentFiles: string[] = [];
  let user: string | undefined;
  let workingDirectory: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("[")) {
      section = line;
      continue;
    }
    if (section !== "[Service]") continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === "ExecStart") execStart = splitUnitArgs(value);
    else if (key === "EnvironmentFile") environmentFiles.push(value.replace(/^-/, ""));
    else if (key === "User") user = value;
    else if (key === "WorkingDirectory") workingDirectory = value;
  }
  if (!execStart || execStart.length === 0) throw new TopologyError("unit has no ExecStart= in [Service]");
  return { execStart, environmentFiles, ...(user ? { user } : {}), ...(workingDirectory ? { workingDirectory } : {}) };
}

/** systemd's command line splitting (quotes, backslash escapes, $$ and %%). */
export function splitUnitArgs(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && /\s/.test(value[i]!)) i++;
    if (i >= value.length) break;
    let arg = "";
    let quote: string | undefined;
    while (i < value.length) {
      const c = value[i]!;
      if (quote) {
        if (c === "\\" && i + 1 < value.length) {
          arg += value[i + 1];
          i += 2;
          continue;
        }
        if (c === quote) {
          quote = undefined;
          i++;
          continue;
        }
        arg += c;
        i++;
        continue;
      }
      if (/\s/.test(c)) break;
      if (c === '"' || c === "'") {
        quote = c;
        i++;
        continue;
      }
      if (c === "\\" && i + 1 < value.length) {
        arg += value[i + 1];
        i += 2;
        continue;
      }
      arg += c;
      i++;
    }
    if (quote) throw new TopologyError(`unbalanced quotes in ExecStart=${value}`);
    out.push(arg.replace(/\$\$/g, "$").replace(/%%/g, "%"));
  }
  return out;
}
