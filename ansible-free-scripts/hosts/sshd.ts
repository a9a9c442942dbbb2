/**
 * Each namespace host's own OpenSSH server: listening only on the host's address (port 22), with a
 * host key made for this lab and the lab's one authorized key, all in the lab's directory; the
 * client side gets a known_hosts file with exactly those host keys (StrictHostKeyChecking=yes).
 *
 * The sshd runs in a mount namespace of its own in which the host's directory is bind-mounted on
 * the lab's shared `fs` path, so every session (and every process a deploy starts) sees its own
 * deploy dir, env files and data dirs at the same path, as on separate machines. The mount exists
 * only in that namespace, which ends with its last process: nothing is mounted on the machine.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import type { LabHost, LabProcess, NetLab } from "./netns.js";

export const SSHD = "/usr/sbin/sshd";
/** sshd's privilege separation directory (the openssh-server package makes it at boot). */
export const PRIVSEP_DIR = "/run/sshd";

export interface LabSshKeys {
  /** The private key the deploy logs in with (as root). */
  readonly identity: string;
  readonly knownHosts: string;
  readonly authorizedKeys: string;
}

function keygen(file: string, comment: string): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], { stdio: "ignore" });
}

/** Why hosts with their own sshd cannot be made here (undefined when they can). */
export function sshdUnavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is missing (install openssh-server)`;
  for (const t of ["ssh", "scp", "ssh-keygen", "unshare"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" });
    } catch {
      return `${t} is missing (install openssh-client / util-linux)`;
    }
  }
  return undefined;
}

/** The lab's client key and, per host, a host key; known_hosts pins each host's address to its key. */
export function makeLabKeys(dir: string, hosts: readonly LabHost[], hostDir: (h: LabHost) => string): LabSshKeys {
  const sshDir = join(dir, "ssh");
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  const identity = join(sshDir, "id_ed25519");
  keygen(identity, "etcdkit-hosts-lab");
  const authorizedKeys = join(sshDir, "authorized_keys");
  writeFileSync(authorizedKeys, readFileSync(`${identity}.pub`), { mode: 0o600 });
  const known: string[] = [];
  for (const h of hosts) {
    const key = join(hostDir(h), "ssh_host_ed25519_key");
    keygen(key, `etcdkit-hosts-${h.name}`);
    const [type, body] = readFileSync(`${key}.pub`, "utf8").trim().split(/\s+/);
    known.push(`${h.addr} ${type} ${body}`);
  }
  const knownHosts = join(sshDir, "known_hosts");
  writeFileSync(knownHosts, known.join("\n") + "\n", { mode: 0o600 });
  return { identity, knownHosts, authorizedKeys };
}

/** The ssh options the inventory gives every host of the lab. */
export function labSshOptions(keys: LabSshKeys): string[] {
  return ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${keys.knownHosts}`, "-o", "LogLevel=ERROR", "-o", "ServerAliveInterval=5"];
}

function sshdConfig(h: LabHost, hostDir: string, keys: LabSshKeys): string {
  return [
    "Port 22",
    `ListenAddress ${h.addr}`,
    `HostKey ${join(hostDir, "ssh_host_ed25519_key")}`,
    `PidFile ${join(hostDir, "sshd.pid")}`,
    `AuthorizedKeysFile ${keys.authorizedKeys}`,
    "PermitRootLogin prohibit-password",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    // The lab's directory lives under the machine's temp dir, which StrictModes would refuse.
    "StrictModes no",
    "PermitUserEnvironment no",
    "X11Forwarding no",
    "AllowTcpForwarding no",
    "PrintMotd no",
    "MaxStartups 50",
    // scp speaks SFTP since OpenSSH 9.
    "Subsystem sftp internal-sftp",
    "",
  ].join("\n");
}

function accepts(addr: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: addr, port });
    s.setTimeout(1000);
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
    s.once("timeout", () => (s.destroy(), resolve(false)));
  });
}

/**
 * Starts the host's sshd: `ip netns exec <ns> unshare --mount --propagation private sh -c
 * 'mount --bind HOSTFS SHAREDFS && exec sshd -D -e -f CONFIG'` (one PID throughout: each step execs).
 */
export function startSshd(lab: NetLab, h: LabHost, hostDir: string, hostFs: string, sharedFs: string, keys: LabSshKeys): LabProcess {
  const config = join(hostDir, "sshd_config");
  writeFileSync(config, sshdConfig(h, hostDir, keys));
  chmodSync(config, 0o600);
  const script = 'mount --bind "$1" "$2" && exec "$3" -D -e -f "$4"';
  return lab.spawn(h, "unshare", ["--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", hostFs, sharedFs, SSHD, config], { logFile: join(hostDir, "sshd.log") });
}

/** Waits until the host's sshd accepts connections (or its process died). */
export async function waitSshd(h: LabHost, p: LabProcess, timeoutMs: number, logFile: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!p.running()) break;
    if (await accepts(h.addr, 22)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  let log = "";
  try {
    log = readFileSync(logFile, "utf8").trim().split("\n").slice(-10).join("\n");
  } catch {
    /* no log */
  }
  throw new Error(`sshd of ${h.name} (${h.addr}) did not start${p.running() ? ` within ${timeoutMs} ms` : ""}${log ? `:\n${log}` : ""}`);
}
