/**
 * Measures a link between two lab hosts, before any member runs: round trips and bulk throughput
 * through the link shaper (the path members' peer traffic takes) and directly (a port the shaper
 * does not redirect). With no conditions the difference is the shaper's own cost; with conditions
 * it shows how close the achieved round trip is to the one asked for. The figures go into the
 * result file beside every figure measured on the lab.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";
import { linkOf, type NetworkConditions } from "./link-conditions.js";
import type { LabHost, NetLab } from "./netns.js";

/** The direct path's port on the target host (the shaper redirects only the peer port). */
export const DIRECT_PROBE_PORT_OFFSET = 10;

export interface PathFigures {
  rttP50Ms: number;
  rttP90Ms: number;
  rttP99Ms: number;
  rttMaxMs: number;
  /** Bulk transfer, one connection, every byte counted by the receiver. */
  mbit: number;
}

export interface LinkCheck {
  from: string;
  to: string;
  /** The round trip the conditions ask for: delay from→to + delay to→from. */
  requestedRttMs: number;
  /** Round trips per path (after one warm-up round trip, which also pays the connection set-up). */
  samples: number;
  throughputBytes: number;
  direct: PathFigures;
  shaped: PathFigures;
  /** shaped p50 − direct p50 − requested: what the shaper adds beyond what it was asked to. */
  overheadP50Ms: number;
  /** direct Mbit/s ÷ shaped Mbit/s (1: no cost). Meaningless under a bandwidth cap. */
  throughputRatio: number;
}

export function probeMainPath(): string {
  const p = join(packageRoot(), "dist", "ansible-free-scripts", "hosts", "link-probe.js");
  if (!existsSync(p)) throw new Error(`the link probe is not built (${p} is missing): run \`npm run build\` first`);
  return p;
}

function pct(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function path(lab: NetLab, from: LabHost, to: LabHost, port: number, samples: number, bytes: number): Promise<PathFigures> {
  const probe = probeMainPath();
  const rtt = JSON.parse(await lab.execAsync(from, process.execPath, [probe, "rtt", to.addr, String(port), String(samples + 1)], 120_000)) as { samplesMs: number[] };
  const s = rtt.samplesMs.slice(1).sort((a, b) => a - b);
  const tp = JSON.parse(await lab.execAsync(from, process.execPath, [probe, "throughput", to.addr, String(port), String(bytes)], 120_000)) as { mbit: number };
  return { rttP50Ms: r3(pct(s, 0.5)), rttP90Ms: r3(pct(s, 0.9)), rttP99Ms: r3(pct(s, 0.99)), rttMaxMs: r3(s[s.length - 1] ?? NaN), mbit: tp.mbit };
}

/**
 * Measures host `fromIdx` → `toIdx` (0-based) with a probe server on the target's peer port (reached
 * through the shaper) and on peer port + 10 (direct). The peer port must be free: run it before deploy.
 */
export async function checkLink(
  lab: NetLab,
  dirOf: (h: LabHost) => string,
  nc: NetworkConditions,
  o: { fromIdx: number; toIdx: number; peerPort: number; samples?: number; bytes?: number },
): Promise<LinkCheck> {
  const from = lab.hosts[o.fromIdx]!;
  const to = lab.hosts[o.toIdx]!;
  const up = linkOf(nc, o.fromIdx + 1, o.toIdx + 1);
  const down = linkOf(nc, o.toIdx + 1, o.fromIdx + 1);
  const samples = o.samples ?? 50;
  // Under a bandwidth cap, about 2 s worth of it; else 8 MiB.
  const cap = up.bandwidthKbit === null ? Infinity : Math.max(64 * 1024, Math.round((up.bandwidthKbit * 1000) / 8) * 2);
  const bytes = Math.min(o.bytes ?? 8 * 1024 * 1024, cap);
  const directPort = o.peerPort + DIRECT_PROBE_PORT_OFFSET;
  const log = join(dirOf(to), "link-probe.log");
  const server = lab.spawn(to, process.execPath, [probeMainPath(), "serve", to.addr, String(o.peerPort), String(directPort)], { logFile: log });
  try {
    for (let i = 0; i < 300; i++) {
      const text = existsSync(log) ? readFileSync(log, "utf8") : "";
      if ((text.match(/^listening /gm) ?? []).length >= 2) break;
      if (!server.running()) throw new Error(`the link probe server on ${to.name} exited: ${text.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const direct = await path(lab, from, to, directPort, samples, bytes);
    const shaped = await path(lab, from, to, o.peerPort, samples, bytes);
    const requested = up.delayMs + down.delayMs;
    return {
      from: from.name,
      to: to.name,
      requestedRttMs: requested,
      samples,
      throughputBytes: bytes,
      direct,
      shaped,
      overheadP50Ms: r3(shaped.rttP50Ms - direct.rttP50Ms - requested),
      throughputRatio: Math.round((direct.mbit / shaped.mbit) * 100) / 100,
    };
  } finally {
    await server.kill();
  }
}

export function describeLinkCheck(c: LinkCheck): string {
  return (
    `${c.from}→${c.to}: RTT p50 ${c.shaped.rttP50Ms} ms / p99 ${c.shaped.rttP99Ms} ms through the shaper (asked ${c.requestedRttMs} ms), ` +
    `${c.direct.rttP50Ms} / ${c.direct.rttP99Ms} ms direct; shaper overhead p50 ${c.overheadP50Ms} ms; ` +
    `throughput ${c.shaped.mbit} Mbit/s shaped vs ${c.direct.mbit} Mbit/s direct (${c.samples} round trips, ${Math.round(c.throughputBytes / 1024)} KiB)`
  );
}
