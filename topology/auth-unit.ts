/**
 * The auth file of a cluster on bare hosts, applied by systemd: `etcdkit-auth-<cluster>.service`
 * (Type=oneshot, on one host, ordered after that host's member) runs `etcdkit auth apply --wait`
 * as the members' user in the members' sandbox (nothing writable). Its passwords never appear in a
 * rendered file: the service reads them with `LoadCredential=` from files root placed 0600 in the
 * credential folder (`<folder>/<user>.password`); systemd copies them, with the auth file, into a
 * private directory only the service's user can read (`$CREDENTIALS_DIRECTORY`), and the auth file
 * rendered for the unit names each password as the relative file `<user>.password` there. Pure.
 */
import { TopologyError } from "./errors.js";
import { quoteUnitArg } from "./systemd-unit.js";
import { hardening } from "./unit-hardening.js";
import { checkNoControl, showValue } from "./safe-values.js";

export interface AuthUnitSpec {
  readonly cluster: string;
  readonly user: string;
  readonly nodePath: string;
  /** Holds bin/etcdkit.js (the etcd-ts bundle). */
  readonly appDir: string;
  readonly endpoints: readonly string[];
  /** Where root puts the unit's auth file (AUTH_CREDENTIAL) and each `<user>.password`, 0600. */
  readonly credentialDir: string;
  /** The auth file's user names: each one's password is the credential `<user>.password`. */
  readonly users: readonly string[];
  /** The member unit on the same host: started first (Wants=, After=). */
  readonly memberUnit: string;
  readonly waitSeconds?: number;
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

export const authUnitName = (cluster: string) => `etcdkit-auth-${cluster}`;
/** The credential name (and file name in the credential folder) of the unit's auth file. */
export const AUTH_CREDENTIAL = "auth.yaml";
export const passwordCredential = (user: string) => `${user}.password`;
export const DEFAULT_AUTH_WAIT_SECONDS = 600;

const STRICT_PATH = /^(\/[A-Za-z0-9._+-]+)+$/;

function check(spec: AuthUnitSpec): void {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(spec.cluster)) throw new TopologyError(`auth unit cluster name ${showValue(spec.cluster)} is not a DNS label`);
  const tlsPaths = spec.tls ? ([["CA file", spec.tls.ca], ["certificate", spec.tls.cert], ["key", spec.tls.key]] as const) : [];
  for (const [what, p] of [["node path", spec.nodePath], ["app dir", spec.appDir], ["credential folder", spec.credentialDir], ...tlsPaths] as const) {
    checkNoControl(`the auth unit's ${what}`, p);
    if (!STRICT_PATH.test(p) || p.split("/").some((seg) => seg === "." || seg === "..")) {
      throw new TopologyError(`the auth unit's ${what} ${showValue(p)} must be an absolute path of letters, digits, . _ + - segments`);
    }
  }
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(spec.user)) throw new TopologyError(`auth unit user ${showValue(spec.user)} is not a user name`);
  if (!/^[A-Za-z0-9@._-]+\.service$/.test(spec.memberUnit)) throw new TopologyError(`member unit ${showValue(spec.memberUnit)} is not a service unit name`);
  if (spec.endpoints.length === 0) throw new TopologyError("the auth unit needs the cluster's endpoints");
  for (const e of spec.endpoints) if (!/^https?:\/\/[A-Za-z0-9.:[\]-]+$/.test(e)) throw new TopologyError(`auth endpoint ${showValue(e)} is not a client URL`);
  // A credential name is a file name and LoadCredential= splits at ':'; '%' would be a specifier.
  for (const u of spec.users) {
    if (!/^[A-Za-z0-9._-]{1,200}$/.test(u) || u === "." || u === "..") {
      throw new TopologyError(`auth user ${showValue(u)}: the auth unit reads each password as the credential <user>.password, so user names may hold only letters, digits, '.', '_' and '-'`);
    }
  }
  if (spec.waitSeconds !== undefined && !(Number.isInteger(spec.waitSeconds) && spec.waitSeconds >= 1)) throw new TopologyError(`auth wait ${spec.waitSeconds} must be a whole number of seconds >= 1`);
}

/** The command line, with the auth file in systemd's credential directory (expanded by systemd in ExecStart=). */
export function authCommand(spec: AuthUnitSpec): string[] {
  return [
    spec.nodePath,
    `${spec.appDir}/bin/etcdkit.js`,
    "auth",
    "apply",
    `\${CREDENTIALS_DIRECTORY}/${AUTH_CREDENTIAL}`,
    `--endpoints=${spec.endpoints.join(",")}`,
    `--wait=${spec.waitSeconds ?? DEFAULT_AUTH_WAIT_SECONDS}`,
    ...(spec.tls ? [`--cacert=${spec.tls.ca}`, `--cert=${spec.tls.cert}`, `--key=${spec.tls.key}`] : []),
  ];
}

export function renderAuthService(spec: AuthUnitSpec): string {
  check(spec);
  const wait = spec.waitSeconds ?? DEFAULT_AUTH_WAIT_SECONDS;
  // The credential reference is the one word that must reach systemd unescaped ($ expands there).
  const exec = authCommand(spec).map((a, i) => (a.startsWith("${CREDENTIALS_DIRECTORY}/") ? a : quoteUnitArg(a, i === 0)));
  return [
    "[Unit]",
    `Description=etcdkit auth of cluster ${spec.cluster}: users, roles and permissions of its auth file, then auth enable`,
    "Documentation=https://etcd.io/docs/v3.4/op-guide/authentication/",
    `Wants=network-online.target ${spec.memberUnit}`,
    `After=network-online.target ${spec.memberUnit}`,
    "",
    "[Service]",
    "Type=oneshot",
    `User=${spec.user}`,
    // systemd (>= 247) reads these as root and hands copies to this service only; nothing is rendered with a password.
    `LoadCredential=${AUTH_CREDENTIAL}:${spec.credentialDir}/${AUTH_CREDENTIAL}`,
    ...spec.users.map((u) => `LoadCredential=${passwordCredential(u)}:${spec.credentialDir}/${passwordCredential(u)}`),
    `ExecStart=${exec.join(" ")}`,
    `TimeoutStartSec=${wait + 120}`,
    "",
    ...hardening([]),
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The shell commands (root) that make the credential folder; the user then puts the password files there, 0600. */
export function authCredentialDirCommand(spec: Pick<AuthUnitSpec, "credentialDir">): string {
  return `install -d -m 0700 -o root -g root ${spec.credentialDir}`;
}
