import { readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Copies of a defragmentation a crash interrupted (`<db>.defrag-N` and their lock files): the backend itself is whole. */
export function removeDefragLeftovers(path: string): void {
  const prefix = `${basename(path)}.defrag-`;
  let names: string[] = [];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(prefix)) rmSync(join(dirname(path), n), { force: true });
}
