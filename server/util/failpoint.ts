/**
 * Failpoints for tests, in the spirit of etcd's gofail: named points on the durable write and
 * snapshot-install paths. Inert unless ETCDTS_FAILPOINTS names them (deliberately not ETCD_*: it is
 * no etcd flag); an unarmed point costs one comparison. Two kinds, in one comma-separated list:
 *
 *   name          a crash point: the process kills itself with SIGKILL the first time it reaches
 *                 `failpoint(name)` (the snapshot-install steps; any name, as those points are
 *                 spread over the code)
 *   name=CODE     an error point: every file system call at `hitFailpoint(name)` fails with CODE
 *   name=CODE@N   ... the first N−1 calls pass, then every call fails (a disk that broke stays
 *                 broken until the process restarts without the variable)
 *
 * Error points (a name or code not listed is an error at start-up, never ignored):
 *   walWrite       every write of WAL records (save, snapshot marker, segment head, create)
 *   walSync        every fdatasync of a WAL segment
 *   backendCommit  a backend batch commit is reported failed (the data did commit: what is tested
 *                  is the reaction)
 *   snapWrite      writing a snapshot file
 * CODE is EIO or ENOSPC; the error is a Node errno error (code, errno, syscall = the point's name)
 * whose message names the point and the call.
 *
 * The variable is read when this module loads; bootstrap calls armFailpointsFromEnv(), which
 * throws a malformed spec (the server then fails to start) and returns the spec to log.
 */
import { constants } from "node:os";

export const FAILPOINT_ENV = "ETCDTS_FAILPOINTS";

export const ERROR_POINTS = ["walWrite", "walSync", "backendCommit", "snapWrite"] as const;
export type ErrorPointName = (typeof ERROR_POINTS)[number];

const CODES = { EIO: constants.errno.EIO, ENOSPC: constants.errno.ENOSPC } as const;
type FailCode = keyof typeof CODES;

export interface FailpointSpec {
  readonly crash: ReadonlySet<string>;
  readonly errors: ReadonlyMap<ErrorPointName, { readonly code: FailCode; readonly from: number }>;
}

export class FailpointSpecError extends Error {
  override readonly name = "FailpointSpecError";
}

/** Parses a spec (see the module comment). Throws FailpointSpecError on an unknown error point or code. */
export function parseFailpoints(spec: string): FailpointSpec {
  const crash = new Set<string>();
  const errors = new Map<ErrorPointName, { code: FailCode; from: number }>();
  for (const part of spec.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    if (/^[A-Za-z][A-Za-z0-9]*$/.test(part)) {
      crash.add(part);
      continue;
    }
    const m = /^([A-Za-z]+)=([A-Z]+)(?:@([1-9][0-9]*))?$/.exec(part);
    if (!m) throw new FailpointSpecError(`${FAILPOINT_ENV}: "${part}" is not name, name=CODE or name=CODE@N`);
    const name = m[1]! as ErrorPointName;
    if (!ERROR_POINTS.includes(name)) throw new FailpointSpecError(`${FAILPOINT_ENV}: unknown error point "${m[1]}" (known: ${ERROR_POINTS.join(", ")})`);
    if (!(m[2]! in CODES)) throw new FailpointSpecError(`${FAILPOINT_ENV}: unknown error code "${m[2]}" (known: ${Object.keys(CODES).join(", ")})`);
    errors.set(name, { code: m[2]! as FailCode, from: m[3] === undefined ? 1 : Number(m[3]) });
  }
  return { crash, errors };
}

let crashPoints: ReadonlySet<string> = new Set();
let errorPoints: Map<ErrorPointName, { code: FailCode; from: number; calls: number }> | undefined;
let envSpecError: FailpointSpecError | undefined;

/** Arms the failpoints of `spec`, replacing any armed before; an empty spec disarms all. */
export function armFailpoints(spec: string): FailpointSpec {
  const parsed = parseFailpoints(spec);
  crashPoints = parsed.crash;
  errorPoints = parsed.errors.size === 0 ? undefined : new Map([...parsed.errors].map(([n, a]) => [n, { ...a, calls: 0 }]));
  return parsed;
}

try {
  armFailpoints(process.env[FAILPOINT_ENV] ?? "");
} catch (err) {
  envSpecError = err as FailpointSpecError;
}

/**
 * For bootstrap: the spec armed from the environment (undefined when none), after re-arming from
 * `env` when given. Throws the spec's error, so a malformed one stops the start.
 */
export function armFailpointsFromEnv(env?: NodeJS.ProcessEnv): string | undefined {
  if (env !== undefined) {
    envSpecError = undefined;
    armFailpoints(env[FAILPOINT_ENV] ?? "");
  }
  if (envSpecError) throw envSpecError;
  const spec = (env ?? process.env)[FAILPOINT_ENV];
  return spec === undefined || spec.trim() === "" ? undefined : spec;
}

/** A crash point: kills this process (SIGKILL: no cleanup, no flush) if `name` is armed. */
export function failpoint(name: string): void {
  if (crashPoints.size === 0 || !crashPoints.has(name)) return;
  process.stderr.write(`{"level":"warn","msg":"failpoint reached; killing the process","failpoint":"${name}"}\n`);
  process.kill(process.pid, "SIGKILL");
}

/** An error point: the error the file system call at `name` fails with now, or undefined (counts the call). */
export function failpointError(name: ErrorPointName): NodeJS.ErrnoException | undefined {
  if (errorPoints === undefined) return undefined;
  const a = errorPoints.get(name);
  if (!a) return undefined;
  a.calls++;
  if (a.calls < a.from) return undefined;
  const text = a.code === "ENOSPC" ? "no space left on device" : "i/o error";
  return Object.assign(new Error(`${a.code}: ${text} (failpoint ${name}, call ${a.calls})`), { code: a.code, errno: -CODES[a.code], syscall: name });
}

/** Throws the injected error when error point `name` is due to fail. */
export function hitFailpoint(name: ErrorPointName): void {
  const err = failpointError(name);
  if (err) throw err;
}
