/** Where things are: the server binaries a member can run (the package root is server/util/package-root.ts). */
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";
import { serverCommand, type ServerKind } from "../../topology/server-command.js";

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
    const root = packageRoot();
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
