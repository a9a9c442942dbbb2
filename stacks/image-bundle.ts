/**
 * What the etcd-ts image is made of, prepared on the host: `<root>/.etcdkit/image/`, holding the
 * app (`app/`), an empty `data/` (the data volume's mount point, /var/lib/etcd) and an empty
 * `backups/` (the backup container's volume, /var/backups/etcdkit).
 *
 * The Dockerfile copies this folder and runs nothing (no RUN step), so the image builds offline,
 * from any base that holds a `node` (a shell-less imported root filesystem too), with BuildKit or
 * with the legacy builder that the Terraform docker provider uses. `app/` holds:
 *
 *   package.json            the package root marker (`"type": "module"`; the server finds its .proto files from it)
 *   bin/etcd-ts.js          the entry point
 *   bin/etcdkit.js          for `etcdkit backup` (the Docker stacks' backup container) and `etcdkit auth`
 *                           (the Kubernetes stacks' auth Job) only, with those two compiled commands
 *                           (dist/ansible-free-scripts/{backup,auth}/, and what they import)
 *   dist/server/            the compiled server (compiled first when older than server/)
 *   dist/stacks/pod/        the Kubernetes pod's entry (decides restart/bootstrap/join, then runs the server)
 *   server/api/proto/       the .proto files the server loads at run time
 *   node_modules/           only the packages the server imports, and what they depend on: no dev
 *                           dependencies, and none of the deploy/bench tooling (cdktf, autocannon, ...)
 *
 * Native modules (lmdb) are copied as installed here, so prepare the folder on the OS/architecture
 * of the image (Linux, glibc, same CPU). Run: `npx tsx stacks/image-bundle.ts` (or
 * `node dist/stacks/image-bundle.js`) after `npm ci`; `cdktf deploy` and `docker build` then use it.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { packageRoot } from "../server/util/package-root.js";

/** Relative to the build context (the repo root): the Dockerfile's `COPY` sources are in here. */
export const IMAGE_CONTEXT_DIR = ".etcdkit/image";

export interface ImageAppOptions {
  /** The repo root (holds package.json, server/, bin/, node_modules/). */
  readonly root: string;
  /** Default `<root>/.etcdkit/image` (the app goes to `<out>/app`). */
  readonly out?: string;
  /** Compile with the repo's tsc when dist/server is missing or older than server/ (default true). */
  readonly compile?: boolean;
}

export interface ImageApp {
  /** `<out>/app`. */
  readonly dir: string;
  /** node_modules paths copied, e.g. `lmdb`, `@grpc/grpc-js`, `protobufjs/node_modules/long`. */
  readonly packages: readonly string[];
  /** Bare packages the server imports (the roots of the closure). */
  readonly roots: readonly string[];
  readonly bytes: number;
  readonly compiled: boolean;
}

const BUILTINS = new Set(builtinModules);

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Source folders whose compiled code the image ships (relative to the repo root). */
export const SHIPPED_SOURCES = ["server", join("stacks", "pod")] as const;

/**
 * `etcdkit backup` (the Docker stacks' backup container runs it): its entry in dist/ and, found from
 * it, every compiled file it imports statically. They must stay in dist/server or dist/ansible-free-scripts.
 */
export const BACKUP_ENTRY = join("ansible-free-scripts", "backup", "backup-cli.js");
/** `etcdkit auth` (the Kubernetes stacks' auth Job runs `auth apply`): its entry, shipped the same way. */
export const AUTH_ENTRY = join("ansible-free-scripts", "auth", "auth-cli.js");
/** The kit commands the image ships (bin/etcdkit.js runs only these there). */
export const KIT_ENTRIES = [BACKUP_ENTRY, AUTH_ENTRY] as const;

/** Static `import ... from "x"` / `export ... from "x"` / `import "x"` (not `import("x")`). */
const STATIC_SPECIFIER = /(?:(?<!["'\w$.])from\s*|^\s*import\s+)["']([^"'\n]+)["']/gm;

/**
 * The entry and every file reached from it by static relative imports. Dynamic `import()`s are left
 * out: the backup and auth commands import the bench's and the local runner's code only for the
 * options that need them (--stack-outputs, --local, --name/--dir), which the containers do not use.
 */
export function relativeClosure(entry: string): string[] {
  const seen = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const f = pending.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const m of readFileSync(f, "utf8").matchAll(STATIC_SPECIFIER)) {
      const spec = m[1]!;
      if (spec.startsWith(".") && !spec.includes("${")) pending.push(resolve(dirname(f), spec));
    }
  }
  return [...seen].sort();
}

/** dist/server and dist/stacks/pod are there and no .ts of theirs is newer than its compiled .js. */
export function serverBuildIsCurrent(root: string): boolean {
  for (const rel of SHIPPED_SOURCES) {
    const src = join(root, rel);
    const dist = join(root, "dist", rel);
    if (!existsSync(dist)) return false;
    for (const f of walk(src)) {
      if (!f.endsWith(".ts") || f.endsWith(".d.ts")) continue;
      const js = join(dist, relative(src, f)).replace(/\.ts$/, ".js");
      if (!existsSync(js) || statSync(js).mtimeMs < statSync(f).mtimeMs) return false;
    }
  }
  return true;
}

// `from` / `import(` / `require(` as keywords: not inside a string such as HPACK's static table entry "from"
const SPECIFIER = /(?:(?<!["'\w$.])from\s*|(?<!["'\w$.])import\s*\(\s*|(?<!["'\w$.])require\s*\(\s*|^\s*import\s+)["']([^"'\n]+)["']/gm;
/** npm's package name rule (scoped or not): anything else the scan finds is not an import. */
const PACKAGE_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;

/** Bare specifiers (`lmdb`, `@grpc/grpc-js`) imported by the given ES module files, as package names. */
export function importedPackages(files: readonly string[]): string[] {
  const names = new Set<string>();
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1]!;
      if (spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("node:") || spec.includes("${")) continue;
      const parts = spec.split("/");
      const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
      if (BUILTINS.has(name) || !PACKAGE_NAME.test(name)) continue;
      names.add(name);
    }
  }
  return [...names].sort();
}

/** Relative imports of the shipped code must stay inside the shipped folders (nothing else is in the image). */
function checkSelfContained(shipped: readonly string[], files: readonly string[]): void {
  for (const f of files) {
    for (const m of readFileSync(f, "utf8").matchAll(SPECIFIER)) {
      const spec = m[1]!;
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(f), spec);
      if (!shipped.some((d) => target === d || target.startsWith(d + sep))) {
        throw new Error(`${f} imports ${spec}, outside ${shipped.join(" and ")}: the image would miss it`);
      }
    }
  }
}

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** Node's lookup: `<from>/node_modules/<name>`, then up the tree, not above `root`. */
function findPackage(root: string, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const p = join(dir, "node_modules", name);
    if (existsSync(join(p, "package.json"))) return p;
    if (dir === root) return undefined;
    const up = dirname(dir);
    if (up === dir || !up.startsWith(root)) return undefined;
    dir = up;
  }
}

/**
 * Every installed package the roots need at run time: dependencies, installed optional
 * dependencies, installed peer dependencies; resolved the way Node resolves them (nested copies
 * included). Returns package dirs relative to `root`, e.g. `node_modules/lmdb`.
 */
export function dependencyClosure(root: string, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const queue: { from: string; name: string; required: boolean }[] = roots.map((name) => ({ from: root, name, required: true }));
  while (queue.length > 0) {
    const { from, name, required } = queue.shift()!;
    const dir = findPackage(root, from, name);
    if (!dir) {
      if (required) throw new Error(`package ${name} (needed by ${relative(root, from) || "the server"}) is not installed: run npm ci first`);
      continue;
    }
    const rel = relative(root, dir);
    if (seen.has(rel)) continue;
    seen.add(rel);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
    for (const dep of Object.keys(manifest.dependencies ?? {})) queue.push({ from: dir, name: dep, required: true });
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) queue.push({ from: dir, name: dep, required: false });
    for (const dep of Object.keys(manifest.peerDependencies ?? {})) queue.push({ from: dir, name: dep, required: false });
  }
  return [...seen].sort();
}

function size(dir: string): number {
  return walk(dir).reduce((n, f) => n + statSync(f).size, 0);
}

/** Writes `<root>/.etcdkit/image/{app,data,backups}` (or under `out`) afresh. */
export function prepareImageApp(opts: ImageAppOptions): ImageApp {
  const root = resolve(opts.root);
  const top = resolve(opts.out ?? join(root, IMAGE_CONTEXT_DIR));
  const out = join(top, "app");
  let compiled = false;
  if (!serverBuildIsCurrent(root)) {
    if (opts.compile === false) throw new Error("dist/server is missing or older than server/: run `npx tsc -p .` first");
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    if (!existsSync(tsc)) throw new Error("dist/server is missing or stale and typescript is not installed: run npm ci first");
    try {
      execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.json")], { cwd: root, encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      // tsc still emits on type errors; errors elsewhere in the repo (work in progress) do not touch
      // the server, errors in server/ do.
      const output = String((e as { stdout?: string }).stdout ?? "") + String((e as { stderr?: string }).stderr ?? "");
      const inServer = output.split("\n").filter((l) => /^(server|stacks\/pod)\//.test(l));
      if (inServer.length > 0 || !serverBuildIsCurrent(root)) throw new Error(`tsc failed for the server:\n${(inServer.length ? inServer : output.split("\n")).slice(0, 20).join("\n")}`);
      process.stderr.write(`image-bundle: tsc reported errors outside server/ (ignored, the server compiled):\n${output.split("\n").slice(0, 5).join("\n")}\n`);
    }
    compiled = true;
  }
  const shipped = SHIPPED_SOURCES.map((rel) => join(root, "dist", rel));
  const serverFiles = shipped.flatMap((d) => walk(d)).filter((f) => f.endsWith(".js"));
  const entry = join(root, "bin", "etcd-ts.js");
  const kitEntry = join(root, "bin", "etcdkit.js");
  // etcdkit backup's and auth's own code and what they share with the kit's other commands.
  const backupDir = join(root, "dist", "ansible-free-scripts");
  for (const e of KIT_ENTRIES) if (!existsSync(join(root, "dist", e))) throw new Error(`dist/${e} is missing: run \`npx tsc -p .\` first`);
  const kitFiles = [...new Set(KIT_ENTRIES.flatMap((e) => relativeClosure(join(root, "dist", e))))].sort();
  const kitCommandFiles = kitFiles.filter((f) => !shipped.some((d) => f.startsWith(d + sep)));
  checkSelfContained(shipped, serverFiles);
  const stray = kitCommandFiles.filter((f) => !f.startsWith(backupDir + sep));
  if (stray.length > 0) throw new Error(`etcdkit backup/auth import ${stray.join(", ")}, outside dist/server and dist/ansible-free-scripts: the image would miss it`);
  const roots = importedPackages([entry, ...serverFiles, ...kitCommandFiles]);
  const packages = dependencyClosure(root, roots);

  rmSync(top, { recursive: true, force: true });
  mkdirSync(join(out, "bin"), { recursive: true });
  // The data volume's mount point and the backup volume's (both the runtime user's in the image).
  mkdirSync(join(top, "data"));
  mkdirSync(join(top, "backups"));
  cpSync(join(root, "package.json"), join(out, "package.json"));
  cpSync(entry, join(out, "bin", "etcd-ts.js"));
  // bin/etcdkit.js runs only `backup` and `auth` in the image (its other commands' code is not shipped).
  cpSync(kitEntry, join(out, "bin", "etcdkit.js"));
  for (const f of kitCommandFiles) cpSync(f, join(out, relative(root, f)));
  for (const rel of SHIPPED_SOURCES) cpSync(join(root, "dist", rel), join(out, "dist", rel), { recursive: true, filter: (src) => !src.endsWith(".map") });
  cpSync(join(root, "server", "api", "proto"), join(out, "server", "api", "proto"), {
    recursive: true,
    filter: (src) => statSync(src).isDirectory() || src.endsWith(".proto"),
  });
  for (const rel of packages) {
    const src = join(root, rel);
    // Nested node_modules are separate entries of the closure (only the ones needed are copied).
    cpSync(src, join(out, rel), { recursive: true, filter: (p) => !relative(src, p).split(sep).includes("node_modules") });
  }
  return { dir: out, packages: packages.map((p) => p.replace(/^node_modules\//, "")), roots, bytes: size(out), compiled };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf("--out");
  const root = packageRoot();
  const app = prepareImageApp({ root, ...(outAt >= 0 ? { out: args[outAt + 1]! } : {}) });
  process.stdout.write(
    `image app: ${relative(process.cwd(), app.dir) || "."} (${(app.bytes / 1e6).toFixed(1)} MB${app.compiled ? ", compiled first" : ""})\n` +
      `  server imports: ${app.roots.join(", ")}\n  node_modules: ${app.packages.length} packages\n`,
  );
}
