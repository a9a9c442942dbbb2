/**
 * The systemd unit of a member, rendered from the same plan as its env file, and the small parser
 * the local runner and the SSH supervisor use to start a member from the unit's own ExecStart= and
 * EnvironmentFile= lines (so the unit is the one source of how a member is started). Pure.
 */
import { TopologyError } from "./errors.js";
import { hardening } from "./unit-hardening.js";
import { checkNoControl, showValue } from "./safe-values.js";

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
  /** What the member may write under ProtectSystem=strict: its data dir (and WAL dir if separate). */
  readonly writablePaths: readonly string[];
}

export function unitFileName(memberName: string): string {
  return `etcdkit-${memberName}.service`;
}

/**
 * One word of ExecStart= as systemd reads it back. The executable (first word) gets %-specifiers
 * but no $-substitution, and systemd refuses quotes and backslashes in it; arguments get both.
 */
export function quoteUnitArg(arg: string, executable = false): string {
  if (executable && /["'\\]/.test(arg)) throw new TopologyError(`ExecStart executable ${showValue(arg)} holds a quote or backslash, which systemd refuses in an executable path`);
  const escaped = executable ? arg.replace(/%/g, "%%") : arg.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (escaped !== "" && !/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * A setting's value as one unit-file line: no control character (a newline would start a new
 * directive), no trailing '\' (it would continue the line into the next directive), '%' doubled
 * (systemd expands %-specifiers in these settings).
 */
function unitValue(what: string, v: string): string {
  checkNoControl(what, v);
  if (v.endsWith("\\")) throw new TopologyError(`${what} ${showValue(v)} ends with '\\', which continues a unit-file line into the next one`);
  if (v !== v.trim()) throw new TopologyError(`${what} ${showValue(v)} has leading or trailing whitespace, which systemd drops`);
  return v.replace(/%/g, "%%");
}

/** One path of a space-separated path list (ReadWritePaths=): quoted when it holds whitespace, quotes or '\'. */
function unitPathListItem(what: string, p: string): string {
  if (!p.startsWith("/")) throw new TopologyError(`${what} must be an absolute path, got ${showValue(p)}`);
  const v = unitValue(what, p);
  return /[\s"'\\]/.test(v) ? `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"` : v;
}

function unitUser(what: string, name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/.test(name)) throw new TopologyError(`${what} ${showValue(name)} is not a user or group name systemd accepts`);
  return name;
}

export function renderUnit(spec: UnitSpec): string {
  const who = `unit of ${showValue(spec.memberName)}`;
  if (spec.execStart.length === 0 || !spec.execStart[0]!.startsWith("/")) {
    throw new TopologyError(`ExecStart of ${spec.memberName} must start with an absolute executable, got ${JSON.stringify(spec.execStart[0])}`);
  }
  spec.execStart.forEach((a, i) => checkNoControl(`ExecStart argument ${i} of the ${who}`, a));
  if (!spec.envFile.startsWith("/")) throw new TopologyError(`EnvironmentFile of ${spec.memberName} must be an absolute path, got ${showValue(spec.envFile)}`);
  if (spec.writablePaths.length === 0) throw new TopologyError(`the ${who} needs its data dir in writablePaths (ProtectSystem=strict makes everything else read-only)`);
  const lines = [
    "[Unit]",
    `Description=${unitValue(`Description of the ${who}`, spec.description ?? `etcd member ${spec.memberName} (etcdkit)`)}`,
    "Documentation=https://etcd.io/docs/",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    // The server reports readiness with sd_notify (READY=1); NotifyAccess=all also accepts it from a
    // helper process such as `systemd-notify --ready`.
    "Type=notify",
    "NotifyAccess=all",
    `User=${unitUser(`User= of the ${who}`, spec.user)}`,
    ...(spec.group ? [`Group=${unitUser(`Group= of the ${who}`, spec.group)}`] : []),
    `EnvironmentFile=${unitValue(`EnvironmentFile= of the ${who}`, spec.envFile)}`,
    ...(spec.workingDirectory ? [`WorkingDirectory=${unitValue(`WorkingDirectory= of the ${who}`, spec.workingDirectory)}`] : []),
    `ExecStart=${spec.execStart.map((a, i) => quoteUnitArg(a, i === 0)).join(" ")}`,
    "Restart=always",
    "RestartSec=5",
    "TimeoutStartSec=120",
    "LimitNOFILE=65536",
    "",
    ...hardening(spec.writablePaths.map((p) => unitPathListItem(`a writable path of the ${who}`, p))),
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

/** systemd's command line splitting (quotes, backslash escapes, %%; $$ in arguments only). */
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
    out.push((out.length === 0 ? arg : arg.replace(/\$\$/g, "$")).replace(/%%/g, "%"));
  }
  return out;
}
