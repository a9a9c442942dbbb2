/**
 * Test-only fault injection: named points on the durable write paths (WAL append and sync,
 * backend commit, snapshot file save) that fail like the file system would, with EIO or ENOSPC.
 * Inert unless armed: a server arms them from ETCDTS_FAILPOINTS at start-up (and logs that it
 * did), a unit test with armFailpoints(). An unarmed point costs one comparison.
 *
 *   ETCDTS_FAILPOINTS="walWrite=ENOSPC@40,snapWrite=EIO"
 *
 * `name=CODE` fails every call; `name=CODE@N` lets N−1 calls through, then fails every call from
 * the Nth on (a disk that broke stays broken until the process is restarted without the variable).
 * An unknown name or code is an error at start-up, never silently ignored.
 */
import { constants } from "node:os";

export const FAILPOINTS_ENV = "ETCDTS_FAILPOINTS";

export const FAILPOINT_NAMES = [
  /** Before each write of WAL records (save, snapshot marker, segment head, create). */
  "walWrite",
  /** Before each fdatasync of a WAL segment. */
  "walSync",
  /** When a backend batch commits: the commit is reported failed. */
  "backendCommit",
  /** Before a snapshot file is written. */
  "snapWrite",
] as const;

export type FailpointName = (typeof FAILPOINT_NAMES)[number];

const CODES = { EIO: constants.errno.EIO, ENOSPC: constants.errno.ENOSPC } as const;
type FailCode = keyof typeof CODES;

interface Armed {
  readonly code: FailCode;
  /** The 1-based call from which on every call fails. */
  readonly from: number;
  calls: number;
}

let armed: Map<FailpointName, Armed> | undefined;

export class FailpointSpecError extends Error {
  override readonly name = "FailpointSpecError";
}

/** Parses a failpoint spec (see the module comment). Throws FailpointSpecError on anything it does not know. */
export function parseFailpoints(spec: string): Map<FailpointName, { code: FailCode; from: number }> {
  const out = new Map<FailpointName, { code: FailCode; from: number }>();
  for (const part of spec.split(/[,;]/).map((s) => s.trim()).filter((s) => s !== "")) {
    const m = /^([A-Za-z]+)=([A-Z]+)(?:@([1-9][0-9]*))?$/.exec(part);
    if (!m) throw new FailpointSpecError(`${FAILPOINTS_ENV}: "${part}" is not name=CODE or name=CODE@N`);
    const name = m[1]! as FailpointName;
    if (!FAILPOINT_NAMES.includes(name)) throw new FailpointSpecError(`${FAILPOINTS_ENV}: unknown failpoint "${m[1]}" (known: ${FAILPOINT_NAMES.join(", ")})`);
    if (!(m[2]! in CODES)) throw new FailpointSpecError(`${FAILPOINTS_ENV}: unknown error code "${m[2]}" (known: ${Object.keys(CODES).join(", ")})`);
    out.set(name, { code: m[2]! as FailCode, from: m[3] === undefined ? 1 : Number(m[3]) });
  }
  return out;
}

/** Arms the failpoints of `spec` (replacing any armed before); an empty spec disarms all. Returns the armed names. */
export function armFailpoints(spec: string): FailpointName[] {
  const parsed = parseFailpoints(spec);
  armed = parsed.size === 0 ? undefined : new Map([...parsed].map(([n, a]) => [n, { ...a, calls: 0 }]));
  return [...parsed.keys()];
}

/** Arms from ETCDTS_FAILPOINTS (nothing when it is unset or empty). Returns the spec armed, or undefined. */
export function armFailpointsFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const spec = env[FAILPOINTS_ENV];
  if (spec === undefined || spec.trim() === "") return undefined;
  armFailpoints(spec);
  return spec;
}

/** The error the file system call at point `name` fails with now, or undefined (counts the call). */
export function failpointError(name: FailpointName): NodeJS.ErrnoException | undefined {
  if (armed === undefined) return undefined;
  const a = armed.get(name);
  if (!a) return undefined;
  a.calls++;
  if (a.calls < a.from) return undefined;
  const errno = CODES[a.code];
  const text = a.code === "ENOSPC" ? "no space left on device" : "i/o error";
  return Object.assign(new Error(`${a.code}: ${text} (failpoint ${name}, call ${a.calls})`), { code: a.code, errno: -errno, syscall: name });
}

/** Throws the injected error when point `name` is due to fail. */
export function hitFailpoint(name: FailpointName): void {
  const err = failpointError(name);
  if (err) throw err;
}
