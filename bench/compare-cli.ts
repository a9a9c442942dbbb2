/** `etcdkit compare a.json b.json`: ratios per figure and flags for regressions beyond the measured spread. */
import { formatHelp, parseFlags, UsageError, type FlagSpec } from "./args.js";
import { compareResults, formatComparison } from "./compare.js";
import { readResultFile, ResultFileError } from "./result-file.js";

const FLAGS: FlagSpec[] = [
  { name: "threshold", type: "number", arg: "FRACTION", help: "smallest relative change flagged, on top of the measured spread", default: "0.05" },
  { name: "json", type: "boolean", help: "print the comparison as JSON" },
  { name: "fail-on-regression", type: "boolean", help: "exit with status 1 when a regression is flagged" },
];

const USAGE = "etcdkit compare A.json B.json [options]";
const DESCRIPTION =
  "Compares two benchmark result files (etcdkit bench's result.json) run by run, workload by workload and figure by\n" +
  "figure: b / a ratios, and REGRESSION flags where b is worse than a by more than both the spread measured over\n" +
  "the trials (the wider min–max range of the two) and --threshold. Exit status: 0, 1 (regressions with\n" +
  "--fail-on-regression), 2 (bad input: unreadable file, other schema or schema version).";

export async function main(argv: string[]): Promise<number> {
  try {
    const { flags, positional, help } = parseFlags(argv, FLAGS);
    if (help) {
      process.stdout.write(formatHelp(USAGE, DESCRIPTION, FLAGS));
      return 0;
    }
    if (positional.length !== 2) throw new UsageError(`expected two result files, got ${positional.length}`);
    const threshold = (flags.threshold as number | undefined) ?? 0.05;
    if (!(threshold >= 0)) throw new UsageError("--threshold must be >= 0");
    const [pa, pb] = positional as [string, string];
    const a = readResultFile(pa);
    const b = readResultFile(pb);
    const c = compareResults(a, b, threshold);
    if (flags.json) process.stdout.write(`${JSON.stringify(c, null, 1)}\n`);
    else process.stdout.write(formatComparison(c, pa, pb));
    return flags["fail-on-regression"] && c.regressions.length ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof ResultFileError) {
      process.stderr.write(`etcdkit compare: ${e.message}\n`);
      if (e instanceof UsageError) process.stderr.write(`Usage: ${USAGE} (etcdkit compare --help)\n`);
      return 2;
    }
    throw e;
  }
}
