import { FLAGS } from "./flag-table.js";

/** `etcd-ts --help`: etcd's layout, generated from the flag table so it cannot drift. */
export function usageText(): string {
  const lines = ["Usage:", "", "  etcd-ts [flags]", "    Start an etcd-ts server (etcd v3 API compatible).", "", "  etcd-ts --version", "    Show the version of etcd-ts.", "", "  etcd-ts -h | --help", "    Show the help information about etcd-ts.", ""];
  for (const f of FLAGS) {
    if (f.name === "help" || f.name === "version") continue;
    const def = f.kind === "bool" ? `'${f.default}'` : f.default === "" ? "''" : `'${f.default}'`;
    lines.push(`  --${f.name}${f.kind === "bool" ? "" : " '" + f.kind + "'"}`);
    lines.push(`    ${f.usage} default: ${def}.${f.unsupported ? " NOT SUPPORTED YET." : ""}`);
    lines.push(`    env: ${"ETCD_" + f.name.toUpperCase().replace(/-/g, "_")}`);
  }
  lines.push("", "Every flag can also be set as ETCD_<FLAG> in the environment (ETCD_DATA_DIR for --data-dir); a flag wins over its variable.");
  return lines.join("\n") + "\n";
}
