/** Which server a member runs and the command line that starts it (pure: paths come from the caller). */
import { TopologyError } from "./errors.js";

/** "etcd-ts": node <appRoot>/bin/etcd-ts.js; "etcd": the real etcd binary; anything else: a path to a binary. */
export type ServerKind = "etcd-ts" | "etcd" | (string & {});

export interface ServerLayout {
  /** Absolute path of node (etcd-ts). */
  readonly nodePath: string;
  /** Absolute path of the etcdkit app root holding bin/etcd-ts.js and dist/ (etcd-ts). */
  readonly appRoot: string;
  /** Absolute path of the etcd binary (etcd). */
  readonly etcdPath: string;
}

export function serverCommand(kind: ServerKind, layout: ServerLayout): string[] {
  const abs = (what: string, p: string) => {
    if (!p.startsWith("/")) throw new TopologyError(`${what} must be an absolute path, got "${p}"`);
    return p;
  };
  if (kind === "etcd-ts") return [abs("node path", layout.nodePath), `${abs("app root", layout.appRoot).replace(/\/$/, "")}/bin/etcd-ts.js`];
  if (kind === "etcd") return [abs("etcd path", layout.etcdPath)];
  return [abs("server binary", kind)];
}
