/** Free-port checks and a cross-process reservation of port blocks while a cluster starts. */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
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

/** A held reservation of a port block. */
export interface PortLock {
  release(): void;
  /**
   * Keep the reservation after this process ends, for as long as `path` exists (a cluster's state
   * file): a member that is down must not lose its ports to another cluster started meanwhile.
   */
  holdWhile(path: string): void;
}

interface Holder {
  pid: number;
  startTime?: string;
  holdWhile?: string;
}

/** Takes the lock of block `base` for this process, or returns undefined if another live holder has it. */
export function lockBlock(base: number): PortLock | undefined {
  mkdirSync(LOCK_DIR, { recursive: true });
  const file = join(LOCK_DIR, `${base}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const holder: Holder = { pid: process.pid, startTime: procStartTime(process.pid) };
      const fd = openSync(file, "wx");
      writeSync(fd, JSON.stringify(holder));
      closeSync(fd);
      return {
        release: () => rmSync(file, { force: true }),
        holdWhile: (path: string) => writeFileSync(file, JSON.stringify({ ...holder, holdWhile: path })),
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let stale = false;
      try {
        const holder = JSON.parse(readFileSync(file, "utf8")) as Holder;
        // a cluster's reservation lasts as long as the cluster (its state file); a starting process's, while it lives
        stale = holder.holdWhile !== undefined ? !existsSync(holder.holdWhile) : !isOurs(holder) || Date.now() - statSync(file).mtimeMs > STALE_MS;
      } catch {
        stale = true;
      }
      if (!stale) return undefined;
      rmSync(file, { force: true });
    }
  }
  return undefined;
}
