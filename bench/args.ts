/** A small flag parser: --name value, --name=value, boolean --name / --name=false, -h. Unknown flags are errors. */

export class UsageError extends Error {
  override name = "UsageError";
}

export type FlagType = "string" | "int" | "number" | "boolean" | "list";

export interface FlagSpec {
  name: string;
  type: FlagType;
  help: string;
  /** Shown in --help. */
  default?: string;
  /** Placeholder shown in --help ("N", "URLS"). */
  arg?: string;
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export function parseFlags(argv: string[], specs: FlagSpec[]): { flags: FlagValues; positional: string[]; help: boolean } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags: FlagValues = {};
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help" || a === "help") {
      help = true;
      continue;
    }
    if (a === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("--")) {
      if (a.startsWith("-") && a.length > 1) throw new UsageError(`unknown flag ${a}`);
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    let raw: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
    if (spec.type === "boolean") {
      if (raw === undefined) flags[name] = true;
      else if (/^(true|1|yes)$/i.test(raw)) flags[name] = true;
      else if (/^(false|0|no)$/i.test(raw)) flags[name] = false;
      else throw new UsageError(`--${name} takes true or false, got "${raw}"`);
      continue;
    }
    if (raw === undefined) {
      raw = argv[++i];
      if (raw === undefined) throw new UsageError(`--${name} needs a value`);
    }
    flags[name] = convert(spec, raw);
  }
  return { flags, positional, help };
}

function convert(spec: FlagSpec, raw: string): string | number | string[] {
  switch (spec.type) {
    case "string":
      return raw;
    case "list":
      return raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    case "int": {
      if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`--${spec.name} takes an integer, got "${raw}"`);
      return Number.parseInt(raw, 10);
    }
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${spec.name} takes a number, got "${raw}"`);
      return n;
    }
    default:
      return raw;
  }
}

export function formatHelp(usage: string, description: string, specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = `  --${s.name}${s.type === "boolean" ? "" : ` ${s.arg ?? (s.type === "int" || s.type === "number" ? "N" : "VALUE")}`}`;
    return { left, right: s.help + (s.default !== undefined ? ` (default ${s.default})` : "") };
  });
  const w = Math.min(34, Math.max(...rows.map((r) => r.left.length)) + 2);
  const lines = rows.map((r) => (r.left.length + 2 > w ? `${r.left}\n${" ".repeat(w)}${r.right}` : `${r.left.padEnd(w)}${r.right}`));
  return `Usage: ${usage}\n\n${description}\n\nOptions:\n${lines.join("\n")}\n  -h, --help${" ".repeat(Math.max(1, w - 12))}show this help\n`;
}
