/**
 * The OpenSSH client driven through execa: `ssh TARGET sh -s` with the script on stdin, and `scp`
 * for the bundle. Users' ~/.ssh/config and agents apply as usual. In dry-run mode every command
 * (with its script) is printed instead of run.
 */
import { execa } from "execa";
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

function common(t: SshTarget): string[] {
  return ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", ...(t.identity ? ["-i", t.identity, "-o", "IdentitiesOnly=yes"] : []), ...t.options];
}

export function sshArgs(t: SshTarget, remoteCommand: string): string[] {
  return [...common(t), ...(t.port ? ["-p", String(t.port)] : []), destination(t), remoteCommand];
}

export function scpArgs(t: SshTarget, local: string, remote: string): string[] {
  return ["-q", ...common(t), ...(t.port ? ["-P", String(t.port)] : []), local, `${destination(t)}:${remote}`];
}

const shellQuote = (s: string) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export class SshRemote implements Remote {
  constructor(
    readonly dryRun: boolean,
    private readonly log: (line: string) => void,
  ) {}

  async run(target: SshTarget, script: string, what: string, opts: { sudo?: boolean; allowFail?: boolean; timeoutMs?: number } = {}): Promise<RemoteResult> {
    const args = sshArgs(target, opts.sudo ? "sudo -n sh -s" : "sh -s");
    if (this.dryRun) {
      this.log(`# ${what}\nssh ${args.map(shellQuote).join(" ")} <<'ETCDKIT_SCRIPT'\n${script.trimEnd()}\nETCDKIT_SCRIPT\n`);
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
      this.log(`# ${what}\nscp ${args.map(shellQuote).join(" ")}\n`);
      return;
    }
    const r = await execa("scp", args, { reject: false, timeout: 600_000 });
    if (r.exitCode !== 0) throw new Error(`${what}: scp to ${destination(target)}:${remotePath} failed (exit ${r.exitCode}):\n${String(r.stderr).trim()}`);
  }
}
