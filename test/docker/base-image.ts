/**
 * An offline base image: `docker import` of a minimal root filesystem holding this machine's node
 * binary and the shared libraries it needs (found with `ldd`), a non-root user 1000:1000 and the
 * few /etc files a process expects. No shell, no package manager: the repo's Dockerfile has no
 * RUN step and the stack's health check is exec-form, so neither is needed.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Docker } from "./docker.js";

/** Absolute paths of the shared objects (and the ELF interpreter) `ldd` lists for a binary. */
export function sharedLibraries(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync("ldd", [binary], { encoding: "utf8" });
  } catch (e) {
    const text = String((e as { stdout?: string }).stdout ?? "") + String((e as { stderr?: string }).stderr ?? "");
    if (/not a dynamic executable|statically linked/.test(text)) return [];
    throw e;
  }
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    if (/not found/.test(line)) throw new Error(`ldd ${binary}: ${line.trim()}`);
    const m = line.match(/=>\s*(\/\S+)/) ?? line.match(/^\s*(\/\S+)\s+\(0x/);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

export interface RootfsOptions {
  /** Binaries to ship at the same path (default: this node). */
  readonly binaries?: readonly string[];
}

export interface Rootfs {
  readonly tarball: string;
  readonly files: readonly string[];
  readonly cleanup: () => void;
}

/** A tarball of the root filesystem; ownership numeric (root, except /home/node for 1000). */
export function makeRootfs(opts: RootfsOptions = {}): Rootfs {
  const work = mkdtempSync(join(tmpdir(), "etcdkit-rootfs-"));
  const root = join(work, "rootfs");
  const node = realpathSync(process.execPath);
  const binaries = opts.binaries ?? [node];
  const files = new Set<string>();
  for (const b of binaries) {
    files.add(b);
    for (const lib of sharedLibraries(b)) files.add(lib);
  }
  for (const f of files) {
    const dest = join(root, f);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(realpathSync(f), dest); // the file behind a symlink, under the name the loader asks for
    chmodSync(dest, statSync(realpathSync(f)).mode & 0o7777);
  }
  // node on PATH under its usual name, whatever its path here.
  if (!files.has("/usr/bin/node")) {
    mkdirSync(join(root, "usr/bin"), { recursive: true });
    copyFileSync(node, join(root, "usr/bin/node"));
    chmodSync(join(root, "usr/bin/node"), 0o755);
  }
  const etc = join(root, "etc");
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, "passwd"), "root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000:node:/home/node:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  writeFileSync(join(etc, "group"), "root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n");
  writeFileSync(join(etc, "nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
  // Docker bind-mounts these at run time; the files only need to exist.
  for (const f of ["hosts", "hostname", "resolv.conf"]) writeFileSync(join(etc, f), "");
  for (const d of ["tmp", "root", "home/node", "proc", "sys", "dev", "var/tmp"]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  chmodSync(join(root, "var/tmp"), 0o1777);
  chmodSync(join(root, "root"), 0o700);
  const tarball = join(work, "rootfs.tar");
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) {
    chownSync(join(root, "home/node"), 1000, 1000);
    execFileSync("tar", ["--numeric-owner", "-C", root, "-cf", tarball, "."]);
  } else {
    execFileSync("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", tarball, "."]);
  }
  return { tarball, files: [...new Set([...files, "/usr/bin/node"])], cleanup: () => rmSync(work, { recursive: true, force: true }) };
}

/** `docker import`s the root filesystem as `tag` (PATH set, nothing else). Returns the tag. */
export async function importBaseImage(docker: Docker, tag: string, opts: RootfsOptions = {}): Promise<{ tag: string; files: readonly string[] }> {
  const fs = makeRootfs(opts);
  try {
    await docker.run(["import", "--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin", "--message", "etcdkit offline base: node + its shared libraries", fs.tarball, tag], { timeoutMs: 120_000 });
    return { tag, files: fs.files };
  } finally {
    fs.cleanup();
  }
}
