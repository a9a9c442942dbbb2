/**
 * The repository's top-level folders, beyond server/ (layers.test.ts): the deployment model in
 * `topology/` is neutral (it imports only the server's config model, the PKI layout and node:path,
 * never the stacks, scripts, bench or tests that use it), the test launchers are one module
 * (`test/support/launcher.ts`: nothing else under test/ spawns a member), and the package root is
 * found by one function (`server/util/package-root.ts`: no other file walks up from its own URL
 * looking for package.json).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { packageRoot } from "../../server/util/package-root.js";

const ROOT = packageRoot();
const SOURCE_FOLDERS = ["server", "topology", "stacks", "bench", "ansible-free-scripts", "pki", "examples", "test"];

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) tsFiles(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out.sort();
}

/** Relative imports of `file` (repo-relative, .js -> .ts) and its bare/node: ones. */
function importsOf(file: string, src: string): { local: string[]; external: string[] } {
  const local: string[] = [];
  const external: string[] = [];
  for (const { fileName } of ts.preProcessFile(src, true, true).importedFiles) {
    if (fileName.startsWith(".")) local.push(relative(ROOT, resolve(ROOT, dirname(file), fileName)).replace(/\.js$/, ".ts"));
    else external.push(fileName);
  }
  return { local, external };
}

/** What `topology/` may import: itself, the server's config model, the PKI's file layout, node:path. */
export function topologyViolations(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [f, src] of files) {
    if (!f.startsWith("topology/")) continue;
    const { local, external } = importsOf(f, src);
    for (const t of local) if (!(t.startsWith("topology/") || t.startsWith("server/config/") || t === "pki/layout.ts")) out.push(`${f} -> ${t}: the topology model imports only topology/, server/config/ and pki/layout.ts`);
    for (const x of external) if (x !== "node:path") out.push(`${f} -> ${x}: the topology model is pure (node:path only)`);
  }
  return out;
}

/** Files other than package-root.ts that find the root themselves: their own URL plus a package.json lookup. */
export function rootFinderViolations(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [f, src] of files) {
    if (f === "server/util/package-root.ts" || f.startsWith("test/architecture/")) continue;
    if (/fileURLToPath\(import\.meta\.url\)/.test(src) && /"package\.json"/.test(src)) out.push(`${f}: finds the package root itself (use packageRoot() from server/util/package-root.ts)`);
  }
  return out;
}

/** Test files that spawn a member themselves instead of through test/support/launcher.ts. */
export function launcherViolations(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [f, src] of files) {
    if (!f.startsWith("test/") || f === "test/support/launcher.ts" || f.startsWith("test/architecture/")) continue;
    if (/bin", "etcd-ts\.js"\)/.test(src) && /\bspawn\(/.test(src) && /--initial-cluster=/.test(src)) out.push(`${f}: launches a member itself (use test/support/launcher.ts)`);
    if (/spawn\(\s*"etcd"\s*,/.test(src)) out.push(`${f}: spawns etcd itself (use test/support/launcher.ts)`);
  }
  return out;
}

function tree(): Map<string, string> {
  const files = new Map<string, string>();
  for (const d of SOURCE_FOLDERS) for (const f of tsFiles(d)) files.set(f, readFileSync(join(ROOT, f), "utf8"));
  return files;
}

describe("top-level folders", () => {
  const files = tree();

  test("topology/ is neutral: it imports none of the folders that use it", () => {
    assert.ok([...files.keys()].some((f) => f.startsWith("topology/")), "topology/ holds the model");
    assert.ok(![...files.keys()].some((f) => f.startsWith("stacks/topology/")), "no second copy under stacks/");
    const v = topologyViolations(files);
    assert.deepEqual(v, [], v.join("\n"));
  });

  test("one package-root finder", () => {
    const v = rootFinderViolations(files);
    assert.deepEqual(v, [], v.join("\n"));
  });

  test("tests launch members through test/support/launcher.ts only", () => {
    const v = launcherViolations(files);
    assert.deepEqual(v, [], v.join("\n"));
  });

  test("the checkers see a topology import of the stacks, a second root finder and a hand-made launcher", () => {
    const fake = new Map([
      ["topology/a.ts", 'import { x } from "../stacks/app.js";\nimport { readFileSync } from "node:fs";\n'],
      ["ansible-free-scripts/common/paths.ts", 'const here = fileURLToPath(import.meta.url);\nexistsSync(join(dir, "package.json"));\n'],
      ["test/cluster/helpers.ts", 'spawn(process.execPath, [join(packageRoot(), "bin", "etcd-ts.js"), `--initial-cluster=${c}`]);\n'],
      ["test/apply/etcd-oracle.ts", 'const child = spawn("etcd", ["--name=oracle"]);\n'],
    ]);
    assert.match(topologyViolations(fake).join("\n"), /topology\/a\.ts -> stacks\/app\.ts/);
    assert.match(topologyViolations(fake).join("\n"), /topology\/a\.ts -> node:fs/);
    assert.match(rootFinderViolations(fake).join("\n"), /ansible-free-scripts\/common\/paths\.ts/);
    assert.match(launcherViolations(fake).join("\n"), /test\/cluster\/helpers\.ts/);
    assert.match(launcherViolations(fake).join("\n"), /test\/apply\/etcd-oracle\.ts/);
  });
});
