/**
 * The etcd-ts server bundle: dist/server + `etcdkit backup` + bin + server/api/proto + package.json (+ lock) + the
 * production node_modules (what `npm ls --omit=dev` lists), as one tarball. Built locally, so the
 * hosts need node but neither npm nor registry access. Its id is a hash of what it holds (the
 * dependency tree by package-lock.json), so an unchanged bundle is not uploaded again.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { execa } from "execa";

export interface Bundle {
  readonly file: string;
  readonly id: string;
  readonly entries: readonly string[];
}

// `etcdkit backup` runs on hosts too (the scheduled backup): its files import only dist/server.
const BACKUP = [
  ...["backup-cli.js", "cli-output.js", "backup.js", "retention.js", "snapshot-client.js"].map((f) => `dist/ansible-free-scripts/backup/${f}`),
  // a backup of a cluster with auth on authenticates (--user)
  ...["auth-client.js", "user-flags.js"].map((f) => `dist/ansible-free-scripts/auth/${f}`),
];
const OWN = ["dist/server", ...BACKUP, "bin", "server/api/proto", "package.json", "package-lock.json"];

export function bundleId(root: string): string {
  const h = createHash("sha256");
  const visit = (p: string) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) visit(join(p, e));
    else if (st.isFile()) h.update(relative(root, p)).update("\0").update(readFileSync(p)).update("\0");
  };
  for (const e of OWN) visit(join(root, e));
  return h.digest("hex");
}

/** node_modules folders of the production dependency tree, outermost only, relative to root. */
export async function productionModules(root: string): Promise<string[]> {
  const r = await execa("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: root, reject: false });
  const paths = String(r.stdout)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith(root + sep + "node_modules"))
    .map((l) => relative(root, l))
    .sort();
  if (paths.length === 0) throw new Error(`npm ls --omit=dev found no production dependencies in ${root} (exit ${r.exitCode}): run npm ci first\n${String(r.stderr).trim()}`);
  return paths.filter((p, i) => !paths.slice(0, i).some((q) => p.startsWith(q + sep)));
}

export async function buildBundle(root: string, outFile: string, opts: { requireBuilt?: boolean } = {}): Promise<Bundle> {
  if ((opts.requireBuilt ?? true) && !existsSync(join(root, "dist", "server", "main.js"))) {
    throw new Error(`etcd-ts is not built (${join(root, "dist/server/main.js")} is missing): run \`npm run build\` first`);
  }
  for (const e of ["dist/server", "bin", "server/api/proto", "package.json"]) {
    if (!existsSync(join(root, e))) throw new Error(`cannot bundle etcd-ts: ${join(root, e)} is missing`);
  }
  const own = OWN.filter((e) => existsSync(join(root, e)));
  const modules = await productionModules(root);
  const entries = [...own, ...modules];
  await execa("tar", ["-czf", outFile, "-C", root, "--exclude=*.map", "--exclude=*.tsbuildinfo", ...entries]);
  return { file: outFile, id: bundleId(root), entries };
}
