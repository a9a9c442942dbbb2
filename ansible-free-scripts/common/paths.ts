/** Where things are: the etcdkit app root and the server binaries a member can run. */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serverCommand, type ServerKind } from "../../stacks/topology/server-command.js";

let cachedRoot: string | undefined;

/** The directory holding etcdkit's package.json (works from the sources and from dist/). */
export function appRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "etcdkit") return (cachedRoot = dir);
      } catch {
        /* keep looking */
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the etcdkit package root above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** `which`: the absolute path of an executable on PATH, or undefined. */
export function which(cmd: string, path = process.env.PATH ?? ""): string | undefined {
  for (const d of path.split(delimiter)) {
    if (!d) continue;
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The command line that starts a member of the given kind on this machine, checked to exist. */
export function localServerCommand(kind: ServerKind): string[] {
  if (kind === "etcd-ts") {
    const root = appRoot();
    if (!existsSync(join(root, "dist", "server", "main.js"))) {
      throw new Error(`etcd-ts is not built (${join(root, "dist/server/main.js")} is missing): run \`npm run build\` first`);
    }
    return serverCommand(kind, { nodePath: process.execPath, appRoot: root, etcdPath: "/unused" });
  }
  if (kind === "etcd") {
    const etcd = which("etcd");
    if (!etcd) throw new Error("no etcd binary on PATH (install etcd 3.4+, e.g. `apt-get install etcd-server`)");
    return serverCommand(kind, { nodePath: process.execPath, appRoot: "/unused", etcdPath: etcd });
  }
  const bin = resolve(kind);
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`server "${kind}" is neither etcd-ts nor etcd, and ${bin} is not an executable file`);
  }
  return serverCommand(bin, { nodePath: process.execPath, appRoot: "/unused", etcdPath: "/unused" });
}
