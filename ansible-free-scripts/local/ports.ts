/** Free-port checks and a cross-process reservation of port blocks while a cluster starts. */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isOurs, procStartTime } from "../common/process.js";

export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function busyPorts(ports: readonly number[], host = "127.0.0.1"): Promise<number[]> {
  const res = await Promise.all(ports.map(async (p) => ((await isPortFree(p, host)) ? undefined : p)));
  return res.filter((p): p is number => p !== undefined);
}

const LOCK_DIR = join(tmpdir(), "etcdkit-port-locks");
const STALE_MS = 5 * 60_000;

/** A held reservation of a port block; release() after the members listen. */
export interface PortLock {
  release(): void;
}

/** Takes the lock of block `base` for this process, or returns undefined if another live process holds it. */
export function lockBlock(base: number): PortLock | undefined {
  mkdirSync(LOCK_DIR, { recursive: true });
  const file = join(LOCK_DIR, `${base}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, JSON.stringify({ pid: process.pid, startTime: procStartTime(process.pid) }));
      closeSync(fd);
      return { release: () => rmSync(file, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let stale = false;
      try {
        const holder = JSON.parse(readFileSync(file, "utf8")) as { pid: number; startTime?: string };
        stale = !isOurs(holder) || Date.now() - statSync(file).mtimeMs > STALE_MS;
      } catch {
        stale = true;
      }
      if (!stale) return undefined;
      rmSync(file, { force: true });
    }
  }
  return undefined;
}
