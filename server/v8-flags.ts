/**
 * V8 flags the member runs with, applied as the server starts (server/main.ts: every launcher —
 * bin/etcd-ts.js, the pod entry, systemd units, containers, the SSH and local runners — ends there).
 *
 * Default: `--interrupt-budget=4096` (V8's is 67584). V8 optimizes a function once it has run
 * about three budgets' worth of bytecode. At etcd's request rates that took minutes for code that
 * runs once per request or per peer message. A follower at one client ran most of its request path
 * unoptimized for the first tens of seconds, and a paced put at 100/s on a fresh member took
 * 2.0 ms where the same member, warmed, took 1.1. With the lower budget the same code is optimized
 * after a sixteenth of the work. Side by side, 4 s after start: 0.67x the CPU per put at one client
 * on 3 members, 0.94x at 100 clients. After 40 s of load: 0.95x and 1.00x. RSS unchanged. The cost: more is
 * optimized at once in a fresh member's first seconds under load, and on cores shared with other members
 * that lengthens the tail then (bench/figures/2026-12-06-tier-up.md, section 7).
 *
 * The memory flags measured (bench/figures/2026-12-06-memory-settle.md) trade CPU for RSS:
 * `--heap-growing-percent=20` (old space grows by 1.2x after each mark-compact, not up to 4x) takes
 * RSS after 100,000 keys from 293 to 225 MiB for 1.0-1.4x the CPU per put; `--optimize-for-size` to
 * 180 MiB for 1.6-2.3x. etcd-ts's puts are CPU-bound, so they are not the default; a
 * memory-constrained member chooses one with ETCDTS_V8_FLAGS.
 * ETCDTS_V8_FLAGS replaces the default (name the budget again to keep it); set but empty, no flag is
 * applied.
 *
 * These are set with v8.setFlagsFromString after node started, so only flags V8 reads while running
 * work here (the budget is read each time a function's budget is reset). Heap sizes are fixed when
 * the heap is created: those are refused with a message saying where they belong (node's command
 * line or NODE_OPTIONS, which accepts --max-old-space-size and --max-semi-space-size), rather than
 * accepted and silently ignored.
 */
import { setFlagsFromString } from "node:v8";

export const DEFAULT_V8_FLAGS = "--interrupt-budget=4096";
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
