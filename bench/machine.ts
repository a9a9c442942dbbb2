/** Facts about the machine recorded with every run, and a measured fsync latency of the data disk. */
import { closeSync, fdatasyncSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import type { FsyncProbe, MachineFacts } from "./schema.js";
import { percentile } from "./stats.js";

/** write(4 KiB) + fdatasync, `samples` times, in a temp file under dir. */
export function probeFsync(dir: string, samples = 200): FsyncProbe {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `.etcdkit-fsync-probe-${process.pid}`);
  const block = Buffer.alloc(4096, 0x61);
  const times: number[] = [];
  const fd = openSync(path, "w");
  try {
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      writeSync(fd, block, 0, block.length, (i % 256) * block.length);
      fdatasyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    path: dir,
    samples,
    blockBytes: block.length,
    p50Ms: r3(percentile(times, 50)),
    p99Ms: r3(percentile(times, 99)),
    maxMs: r3(Math.max(...times)),
    meanMs: r3(times.reduce((a, b) => a + b, 0) / times.length),
  };
}

export function machineFacts(fsync: FsyncProbe | null): MachineFacts {
  const cpus = os.cpus();
  const la = os.loadavg().map((x) => Math.round(x * 100) / 100);
  return {
    hostname: os.hostname(),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model?.trim() ?? "unknown",
    cores: cpus.length,
    totalMemBytes: os.totalmem(),
    node: process.version,
    loadavgStart: la,
    loadavgEnd: la,
    fsync,
  };
}
