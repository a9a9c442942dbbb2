/** Entry point for the CLI tests: `node [--import tsx] run-cli.(ts|js) bench|compare ARGS...` → that command's main(). */
const [cmd, ...rest] = process.argv.slice(2);
if (cmd === "bench" || cmd === "compare") {
  const mod = cmd === "compare" ? await import("../../../bench/compare-cli.js") : await import("../../../bench/cli.js");
  process.exitCode = await mod.main(rest);
}
// Anything else (e.g. a test runner that takes every file under test/ for a test): do nothing.
