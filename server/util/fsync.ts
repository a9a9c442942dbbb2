/** fsync of files and directories, for every layer that renames files into place (wal, snap, backend). */
import { closeSync, fsyncSync, openSync } from "node:fs";
import { open } from "node:fs/promises";

/** fsync a directory, so that a rename or create in it survives a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** fsync a file or a directory, synchronously (for code that must not yield between its steps). */
export function fsyncPathSync(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
