import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { IStackSynthesizer, ISynthesisSession, TerraformStack } from "cdktf";
import { toEnvFile } from "../../server/config/render.js";
import {
  AUTH_CREDENTIAL,
  authCredentialDirCommand,
  authUnitName,
  passwordCredential,
  renderAuthService,
  tlsOfBackup,
  backupDirCommand,
  backupUnitName,
  renderBackupService,
  renderBackupTimer,
  renderUnit,
  serverCommand,
  unitFileName,
  type TopologyPlan,
} from "../../topology/index.js";
import { loadAuthFile } from "../../ansible-free-scripts/auth/auth-file.js";
import { retargetAuthFile } from "../../ansible-free-scripts/auth/auth-target.js";
import type { BareHostOptions } from "../options.js";

export interface RenderedFile {
  /** Relative to the stack's output folder. */
  readonly path: string;
  readonly content: string;
  readonly mode?: number;
}

/**
 * Per member of a bare-host plan: `hosts/<member>/<member>.env` (ETCD_* lines, as in etcd's
 * clustering guide) and `hosts/<member>/etcdkit-<member>.service` (Type=notify, EnvironmentFile=).
 */
export function renderBareHostFiles(plan: TopologyPlan, o: BareHostOptions, authFile?: string): RenderedFile[] {
  const execStart = serverCommand(o.server, { nodePath: o.nodePath, appRoot: o.appDir, etcdPath: o.etcdPath });
  const files: RenderedFile[] = [];
  for (const m of plan.members) {
    const envFile = `${o.envDir}/${m.name}.env`;
    files.push({
      path: `hosts/${m.name}/${m.name}.env`,
      content: `# ${m.name} of ${plan.stackName} on ${m.address}: install as ${envFile} (rendered by etcdkit)\n` + toEnvFile(m.config),
      mode: 0o640,
    });
    files.push({
      path: `hosts/${m.name}/${unitFileName(m.name)}`,
      content: renderUnit({
        memberName: m.name,
        user: o.user,
        envFile,
        execStart,
        writablePaths: [m.config.dataDir, ...(m.config.walDir ? [m.config.walDir] : [])],
        description: `etcd member ${m.name} of ${plan.stackName} (etcdkit)`,
      }),
      mode: 0o644,
    });
  }
  const backup = backupFiles(plan, o);
  files.push(...backup);
  const auth = authFiles(plan, o, authFile);
  files.push(...auth.files);
  files.push({
    path: "hosts/README.txt",
    content:
      `Bare-host files of ${plan.stackName}, one folder per member (host address in brackets):\n` +
      plan.members.map((m) => `  ${m.name} [${m.address}]: ${m.name}.env -> ${o.envDir}/${m.name}.env, ${unitFileName(m.name)} -> /etc/systemd/system/`).join("\n") +
      `\nThen: systemctl daemon-reload && systemctl enable --now ${unitFileName("<member>")}\n` +
      `Or let etcdkit do it: etcdkit ssh deploy --inventory FILE (see ansible-free-scripts/README.md).\n` +
      (backup.length
        ? `Scheduled backups (on ${plan.members[0]!.name} only): ${backup.map((f) => f.path.split("/").pop()).join(", ")} -> /etc/systemd/system/, ` +
          `then ${backupDirCommand({ user: o.user, backupDir: `${o.backup!.dir}/${plan.stackName}` })} && systemctl daemon-reload && systemctl enable --now ${backupUnitName(plan.stackName)}.timer (needs the etcdkit app with bin/etcdkit.js in ${o.appDir}).\n`
        : "") +
      auth.readme,
  });
  return files;
}

/**
 * ETCDKIT_AUTH_FILE: the auth service on the first member's host, after that member, and the auth
 * file it reads from its credential folder (each password re-pointed at `<user>.password` there,
 * which root places by hand: never rendered).
 */
function authFiles(plan: TopologyPlan, o: BareHostOptions, authFile: string | undefined): { files: RenderedFile[]; readme: string } {
  if (authFile === undefined) return { files: [], readme: "" };
  const spec = loadAuthFile(authFile);
  const first = plan.members[0]!;
  const credentialDir = `${o.envDir}/auth-${plan.stackName}`;
  const unit = renderAuthService({
    cluster: plan.stackName,
    user: o.user,
    nodePath: o.nodePath,
    appDir: o.appDir,
    endpoints: plan.endpoints,
    credentialDir,
    users: spec.users.map((u) => u.name),
    memberUnit: unitFileName(first.name),
    ...tlsOfBackup(first.tls?.paths),
  });
  const host = `hosts/${first.name}`;
  const name = authUnitName(plan.stackName);
  const readme =
    `Auth (on ${first.name} only): ${name}.service -> /etc/systemd/system/; ${authCredentialDirCommand({ credentialDir })}; ` +
    `copy ${first.name}/auth-${plan.stackName}/${AUTH_CREDENTIAL} into ${credentialDir}/ and write there, as root, mode 0600, each password alone: ` +
    `${spec.users.map((u) => passwordCredential(u.name)).join(", ")}; then systemctl daemon-reload && systemctl enable --now ${name}.service ` +
    `(systemd >= 247 for LoadCredential=; journalctl -u ${name} shows what it did).\n`;
  return {
    files: [
      { path: `${host}/${name}.service`, content: unit, mode: 0o644 },
      { path: `${host}/auth-${plan.stackName}/${AUTH_CREDENTIAL}`, content: retargetAuthFile(spec, (u) => ({ file: passwordCredential(u) })), mode: 0o600 },
    ],
    readme,
  };
}

/**
 * The backup timer + service of the cluster, on its first member's host: `etcdkit backup` over
 * every member's client URL (it finds the leader itself), so the host needs no member of its own.
 */
function backupFiles(plan: TopologyPlan, o: BareHostOptions): RenderedFile[] {
  if (!o.backup) return [];
  const spec = {
    cluster: plan.stackName,
    user: o.user,
    nodePath: o.nodePath,
    appDir: o.appDir,
    endpoints: plan.endpoints,
    backupDir: `${o.backup.dir}/${plan.stackName}`,
    schedule: o.backup.schedule,
    keep: o.backup.keep,
    ...(o.backup.maxAge !== undefined ? { maxAge: o.backup.maxAge } : {}),
    ...tlsOfBackup(plan.members[0]!.tls?.paths),
  };
  const host = `hosts/${plan.members[0]!.name}`;
  return [
    { path: `${host}/${backupUnitName(plan.stackName)}.service`, content: renderBackupService(spec), mode: 0o644 },
    { path: `${host}/${backupUnitName(plan.stackName)}.timer`, content: renderBackupTimer(spec), mode: 0o644 },
  ];
}

/**
 * Wraps a stack's synthesizer: after the stack's JSON, writes extra files into the stack's own
 * output folder (cdktf.out/stacks/<stack>/), so `cdktf synth` produces them with no provider.
 */
export class FilesSynthesizer implements IStackSynthesizer {
  constructor(
    private readonly stack: TerraformStack,
    private readonly inner: IStackSynthesizer,
    private readonly files: () => readonly RenderedFile[],
  ) {}

  synthesize(session: ISynthesisSession): void {
    this.inner.synthesize(session);
    const dir = join(session.outdir, session.manifest.forStack(this.stack).workingDirectory);
    for (const f of this.files()) {
      const p = join(dir, f.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.content, { mode: f.mode ?? 0o644 });
    }
  }
}
