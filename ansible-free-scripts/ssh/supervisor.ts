/**
 * `etcdkit-supervise` (etcdkit-supervise.sh next to this file, kept as a plain sh file so it reads
 * and lints as one): the supervisor the deploy installs where a host has no running systemd.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";

let cached: string | undefined;

export function supervisorScript(): string {
  cached ??= readFileSync(join(packageRoot(), "ansible-free-scripts", "ssh", "etcdkit-supervise.sh"), "utf8");
  return cached;
}
