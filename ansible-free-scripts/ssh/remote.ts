/**
 * The OpenSSH client driven through execa: `ssh TARGET sh -s` with the script on stdin, and `scp`
 * for the bundle. Users' ~/.ssh/config and agents apply as usual. In dry-run mode every command
 * (with its script) is printed instead of run.
 */
import { execa } from "execa";
import { heredocDelimiter, shq } from "../common/shell.js";
import type { SshTarget } from "./inventory.js";

export interface RemoteResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Remote {
  readonly dryRun: boolean;
  /** Runs `script` with `sh -s` (through `sudo -n` when asked) on the target. */
  run(target: SshTarget, script: string, what: string, opts?: { sudo?: boolean; allowFail?: boolean; timeoutMs?: number }): Promise<RemoteResult>;
  copy(target: SshTarget, localFile: string, remotePath: string, what: string): Promise<void>;
}

export function destination(t: SshTarget): string {
  return t.user ? `${t.user}@${t.host}` : t.host;
}

/** scp's form of the destination: an IPv6 literal goes in brackets (user@[::1]:path). */
function scpHost(t: SshTarget): string {
  const host = t.host.includes(":") ? `[${t.host}]` : t.host;
  return t.user ? `${t.user}@${host}` : host;
}

function common(t: SshTarget): string[] {
  return ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", ...(t.identity ? ["-i", t.identity, "-o", "IdentitiesOnly=yes"] : []), ...t.options];
}

/** `--` ends the options: the destination can never be read as one (a host such as -oProxyCommand=...). */
export function sshArgs(t: SshTarget, remoteCommand: string): string[] {
  return [...common(t), ...(t.port ? ["-p", String(t.port)] : []), "--", destination(t), remoteCommand];
}

export function scpArgs(t: SshTarget, local: string, remote: string): string[] {
  return ["-q", ...common(t), ...(t.port ? ["-P", String(t.port)] : []), "--", local, `${scpHost(t)}:${remote}`];
}

export class SshRemote implements Remote {
  constructor(
    readonly dryRun: boolean,
    private readonly log: (line: string) => void,
  ) {}

  async run(target: SshTarget, script: string, what: string, opts: { sudo?: boolean; allowFail?: boolean; timeoutMs?: number } = {}): Promise<RemoteResult> {
    const args = sshArgs(target, opts.sudo ? "sudo -n sh -s" : "sh -s");
    if (this.dryRun) {
      const body = script.trimEnd();
      const eof = heredocDelimiter(body);
      this.log(`# ${oneLine(what)}\nssh ${args.map(shq).join(" ")} <<'${eof}'\n${body}\n${eof}\n`);
      return { exitCode: 0, stdout: "", stderr: "" };
    }
    const r = await execa("ssh", args, { input: script, reject: false, timeout: opts.timeoutMs ?? 300_000, stripFinalNewline: true });
    const res = { exitCode: r.exitCode ?? (r.timedOut ? 124 : 255), stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
    if (res.exitCode !== 0 && !opts.allowFail) {
      throw new Error(`${what} failed on ${destination(target)} (exit ${res.exitCode})${r.timedOut ? " (timed out)" : ""}:\n${(res.stderr || res.stdout).trim()}`);
    }
    return res;
  }

  async copy(target: SshTarget, localFile: string, remotePath: string, what: string): Promise<void> {
    const args = scpArgs(target, localFile, remotePath);
    if (this.dryRun) {
      this.log(`# ${oneLine(what)}\nscp ${args.map(shq).join(" ")}\n`);
      return;
    }
    const r = await execa("scp", args, { reject: false, timeout: 600_000 });
    if (r.exitCode !== 0) throw new Error(`${what}: scp to ${destination(target)}:${remotePath} failed (exit ${r.exitCode}):\n${String(r.stderr).trim()}`);
  }
}

/** A comment line of the dry-run listing stays one line. */
const oneLine = (s: string) => s.replace(/[\r\n]/g, " ");
