import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository (or installed package) root, found from this file whether it runs from source or from dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "server"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("etcd-ts: cannot find the package root (package.json beside server/)");
    dir = up;
  }
}
