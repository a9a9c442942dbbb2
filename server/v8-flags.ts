/**
 * V8 flags for the member's memory, applied as the server starts (server/main.ts: every launcher —
 * bin/etcd-ts.js, the pod entry, systemd units, containers, the SSH and local runners — ends there).
 * Default: none. The memory flags measured (bench/figures/2026-12-06-memory-settle.md) trade CPU for
 * RSS: `--heap-growing-percent=20` (old space grows by 1.2x after each mark-compact, not up to 4x) takes
 * RSS after 100,000 keys from 293 to 225 MiB for 1.0-1.4x the CPU per put; `--optimize-for-size` to
 * 180 MiB for 1.6-2.3x. etcd-ts's puts are CPU-bound and already behind etcd's, so a lower
 * throughput is not the default; a memory-constrained member chooses one with ETCDTS_V8_FLAGS.
 * ETCDTS_V8_FLAGS replaces the default; set but empty, no flag is applied.
 *
 * These are set with v8.setFlagsFromString after node started, so only flags V8 reads while running
 * work here. Heap sizes are fixed when the heap is created: those are refused with a message saying
 * where they belong (node's command line or NODE_OPTIONS, which accepts --max-old-space-size and
 * --max-semi-space-size), rather than accepted and silently ignored.
 */
import { setFlagsFromString } from "node:v8";

export const DEFAULT_V8_FLAGS = "";
export const V8_FLAGS_VARIABLE = "ETCDTS_V8_FLAGS";

/** A V8 flag that sizes the heap: read once when the heap is set up. */
const HEAP_SIZE_FLAG = /^--(max|min|initial)[-_](old|semi|young|heap)[-_]?(space[-_]|generation[-_])?size\b|^--(max|initial)[-_]heap[-_]size\b/;

export type V8FlagsChoice = { readonly flags: readonly string[] } | { readonly error: string };

/** The flags to apply for this environment, or why they cannot be. */
export function v8FlagsFor(env: NodeJS.ProcessEnv): V8FlagsChoice {
  const raw = env[V8_FLAGS_VARIABLE] ?? DEFAULT_V8_FLAGS;
  const flags = raw.split(/\s+/).filter((f) => f !== "");
  for (const f of flags) {
    if (!f.startsWith("--")) return { error: `${V8_FLAGS_VARIABLE}: "${f}" is not a V8 flag (flags start with --)` };
    if (HEAP_SIZE_FLAG.test(f)) {
      return { error: `${V8_FLAGS_VARIABLE}: ${f} sizes the heap, which is fixed when node starts: give it on node's command line or in NODE_OPTIONS` };
    }
  }
  return { flags };
}

/** Applies the chosen flags; returns them (for the start-up log) or the error. */
export function applyV8Flags(env: NodeJS.ProcessEnv): V8FlagsChoice {
  const choice = v8FlagsFor(env);
  if ("flags" in choice && choice.flags.length > 0) setFlagsFromString(choice.flags.join(" "));
  return choice;
}
