import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/**
 * The package root: the folder holding package.json beside server/ (the repository, an installed
 * package, the SSH bundle and the image all have both), found from this file whether it runs from
 * source or from dist/. The one root finder of the kit: the server (its .proto files), the stacks,
 * the scripts, the bench and the tests all ask it (test/architecture/tree.test.ts keeps it the only one).
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "server"))) return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the etcdkit package root (package.json beside server/) above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
