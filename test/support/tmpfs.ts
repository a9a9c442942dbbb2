import { execFileSync } from "node:child_process";
import { mkdirSync, rmdirSync } from "node:fs";

/** Mounting needs root; tests that mount skip (with the reason printed) otherwise. */
export function mountSkipReason(): string | undefined {
  return process.getuid?.() === 0 ? undefined : "not root: cannot mount a tmpfs to fill up";
}

export interface Tmpfs {
  readonly dir: string;
  /** Changes the size limit (remount): a bigger size is the fault going away. */
  resize(bytes: number): void;
  /** Unmounts (lazily if busy) and removes the mount point; safe to call twice. */
  unmount(): void;
}

/** Mounts a tmpfs of `bytes` at `dir` (created if missing): a small file system that fills up with ENOSPC. */
export function mountTmpfs(dir: string, bytes: number): Tmpfs {
  mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, "tmpfs", dir]);
  let mounted = true;
  return {
    dir,
    resize(n: number) {
      execFileSync("mount", ["-o", `remount,size=${n}`, dir]);
    },
    unmount() {
      if (!mounted) return;
      try {
        execFileSync("umount", [dir], { stdio: "pipe" });
      } catch {
        execFileSync("umount", ["-l", dir], { stdio: "pipe" });
      }
      mounted = false;
      rmdirSync(dir);
    },
  };
}
