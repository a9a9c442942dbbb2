/**
 * pflag's command-line syntax, as etcdctl (cobra) takes it: `--flag=value`, `--flag value`, a
 * one-letter shorthand `-w value` / `-w=value`, booleans bare or `=true|false`, `--` ending flags.
 */
export interface FlagSpec {
  readonly name: string;
  readonly short?: string;
  readonly kind: "string" | "bool";
  readonly default: string;
  readonly usage: string;
}

export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    /** etcdctl's exit code: 1 (ExitError) or 128 (ExitBadArgs). */
    readonly exitCode: number = 1,
  ) {
    super(message);
  }
}

export interface ParsedArgs {
  readonly flags: ReadonlyMap<string, string>;
  readonly args: readonly string[];
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const flags = new Map(specs.map((s) => [s.name, s.default]));
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      args.push(a);
      continue;
    }
    const long = a.startsWith("--");
    const body = a.slice(long ? 2 : 1);
    const eq = body.indexOf("=");
    const key = eq >= 0 ? body.slice(0, eq) : body;
    const spec = specs.find((s) => (long ? s.name === key : s.short === key));
    if (!spec) throw new CliError(long ? `unknown flag: --${key}` : `unknown shorthand flag: '${key}' in ${a}`);
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (spec.kind === "bool") {
      value ??= "true";
      if (value !== "true" && value !== "false") throw new CliError(`invalid argument "${value}" for "--${spec.name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
    } else if (value === undefined) {
      if (i + 1 >= argv.length) throw new CliError(`flag needs an argument: --${spec.name}`);
      value = argv[++i]!;
    }
    flags.set(spec.name, value);
  }
  return { flags, args };
}

export function flagHelp(specs: readonly FlagSpec[]): string {
  return specs.map((s) => `      ${s.short ? `-${s.short}, ` : "    "}--${s.name}${s.kind === "string" ? " string" : ""}\t${s.usage}${s.default && s.kind === "string" ? ` (default "${s.default}")` : ""}`).join("\n");
}
