/**
 * The POSIX sh scripts run on the hosts (one ssh session per host per step), often as root. Every
 * value enters a script through the `sh` tag (common/shell.ts), which single-quotes it; the rest
 * is constant text. Files travel inside the script as base64, written only when their content
 * changed (so re-runs are idempotent and only changed members restart).
 */
import { raw, sh } from "../common/shell.js";
import { unitFileName } from "../../topology/systemd-unit.js";
import type { ClusterSettings } from "./inventory.js";
import { supervisorScript } from "./supervisor.js";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
/** A file's text as comments (what --dry-run shows): every line, including any '\r', stays behind '#'. */
const commented = (path: string, text: string) =>
  [`# ${path.replace(/[\r\n]/g, "?")}:`, ...text.trimEnd().split(/\r?\n|\r/).map((l) => `#   ${l}`)].join("\n");
const supervise = (c: ClusterSettings) => `${c.deployDir}/bin/etcdkit-supervise`;

/** Sets $mode to systemd or supervisor, and $have_systemd. */
function detect(c: ClusterSettings): string {
  return [
    sh`manager=${c.serviceManager}`,
    `if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then have_systemd=1; else have_systemd=0; fi`,
    `if [ "$manager" = auto ]; then if [ "$have_systemd" = 1 ]; then mode=systemd; else mode=supervisor; fi; else mode=$manager; fi`,
    `if [ "$mode" = systemd ] && [ "$have_systemd" = 0 ]; then echo "serviceManager is systemd but systemd is not running here" >&2; exit 1; fi`,
    sh`svc_user=${c.user}`,
  ].join("\n");
}

export function serverBinary(c: ClusterSettings): string {
  return c.server === "etcd-ts" ? c.nodePath : c.server === "etcd" ? c.etcdPath : c.server;
}

/** Checks a host can take the deployment; prints key=value lines (missing=, problem=, ...). Changes nothing. */
export function preflightScript(c: ClusterSettings): string {
  const bin = serverBinary(c);
  return [
    "set -u",
    detect(c),
    `echo "mode=$mode"`,
    `echo "uid=$(id -u)"`,
    `for t in base64 cmp sed tar id; do command -v "$t" >/dev/null 2>&1 || echo "missing=$t"; done`,
    sh`if [ -x ${bin} ]; then echo server=ok; else echo ${`missing=${bin}`}; fi`,
    ...(c.server === "etcd-ts" ? [sh`node_version=$(${c.nodePath} --version 2>/dev/null); echo "node=$node_version"`] : []),
    sh`bundle=$(cat ${`${c.deployDir}/app/.bundle-id`} 2>/dev/null); echo "bundle=$bundle"`,
    `if [ "$mode" = systemd ] && [ "$(id -u)" != 0 ]; then echo "missing=root (systemd units need root: use cluster.sudo)"; fi`,
    // Members run as cluster.user under both service managers: root creates it and switches to it.
    `if [ "$(id -u)" = 0 ]; then`,
    `  if ! id -u "$svc_user" >/dev/null 2>&1 && ! command -v useradd >/dev/null 2>&1; then echo "missing=useradd (to create the service user $svc_user)"; fi`,
    `  if [ "$mode" = supervisor ] && [ "$svc_user" != root ] && ! command -v setpriv >/dev/null 2>&1 && ! command -v runuser >/dev/null 2>&1; then echo "missing=setpriv or runuser (util-linux, to run members as $svc_user)"; fi`,
    `elif [ "$mode" = supervisor ] && [ "$(id -un)" != "$svc_user" ]; then`,
    `  echo "problem=connected as $(id -un), not root: members cannot be run as cluster.user $svc_user (use cluster.sudo, or set cluster.user to $(id -un))"`,
    `fi`,
    "exit 0",
  ].join("\n");
}

/** Creates the deploy dir (before the bundle is copied into it). */
export function prepareScript(c: ClusterSettings): string {
  return ["set -eu", "umask 022", sh`mkdir -p ${c.deployDir}`].join("\n");
}

export function unpackBundleScript(c: ClusterSettings, remoteTarball: string, bundleId: string): string {
  const app = `${c.deployDir}/app`;
  return [
    "set -eu",
    "umask 022",
    sh`rm -rf ${`${app}.new`} && mkdir -p ${`${app}.new`}`,
    // Owned by root and not writable by the service user, whatever the tarball's owners and modes.
    sh`tar -xzf ${remoteTarball} -C ${`${app}.new`} --no-same-owner --no-same-permissions`,
    sh`printf '%s\n' ${bundleId} > ${`${app}.new/.bundle-id`}`,
    sh`rm -rf ${`${app}.old`}`,
    sh`if [ -d ${app} ]; then mv ${app} ${`${app}.old`}; fi`,
    sh`mv ${`${app}.new`} ${app}`,
    sh`rm -rf ${`${app}.old`} ${remoteTarball}`,
    sh`echo ${`bundle ${bundleId.slice(0, 12)} installed in ${app}`}`,
  ].join("\n");
}

export interface HostMemberFiles {
  readonly name: string;
  readonly envFile: string;
  readonly envText: string;
  readonly unitText: string;
  readonly dataDir: string;
  /** Data dir and (if separate) WAL dir: created, mode 700, owned by the service user. */
  readonly writablePaths: readonly string[];
  /** TLS: the member's certificate folder (mode 700, owned by the service user) and its files (keys 600, certificates 644, same owner). */
  readonly tls?: { readonly dir: string; readonly files: readonly { readonly path: string; readonly text: string; readonly private: boolean }[] };
}

export interface BackupUnitFiles {
  /** etcdkit-backup-<cluster> (+ .service / .timer). */
  readonly name: string;
  /** Created 0700, owned by the service user, before the timer is enabled. */
  readonly backupDir: string;
  readonly serviceText: string;
  readonly timerText: string;
}

/** Installs the backup timer + service and enables the timer (systemd only: the supervisor has no timers, and says so). */
function backupLines(c: ClusterSettings, b: BackupUnitFiles): string[] {
  const svc = `${c.unitDir}/${b.name}.service`;
  const timer = `${c.unitDir}/${b.name}.timer`;
  return [
    `# ---- scheduled backups`,
    commented(svc, b.serviceText),
    commented(timer, b.timerText),
    `if [ "$mode" = systemd ]; then`,
    sh`  mkdir -p ${b.backupDir} && chmod 700 ${b.backupDir} && chown -- "$owner:$owner_group" ${b.backupDir}`,
    sh`  put ${svc} 644 ${b64(b.serviceText)} || true`,
    sh`  put ${timer} 644 ${b64(b.timerText)} || true`,
    `  systemctl daemon-reload`,
    sh`  systemctl enable --now --quiet -- ${`${b.name}.timer`}`,
    sh`  echo ${`${b.name}.timer: enabled`}`,
    `else`,
    sh`  echo ${`${b.name}: not installed: scheduled backups need systemd, which is not running here (run etcdkit backup from cron instead)`}`,
    `fi`,
  ];
}

/** Installs files, then enables and starts (or restarts, if anything of theirs changed) the members of one host. */
export function deployScript(c: ClusterSettings, members: readonly HostMemberFiles[], bundleChanged: boolean, backup?: BackupUnitFiles): string {
  const d = c.deployDir;
  const lines = [
    "set -eu",
    "umask 022",
    detect(c),
    sh`mkdir -p ${`${d}/bin`} ${`${d}/units`} ${`${d}/run`} ${`${d}/log`} ${c.envDir} ${c.dataDir}`,
    sh`touch ${`${d}/.etcdkit-deploy`}`,
    // Written under umask 077 and then given its mode: a key is never readable by others, not even for a moment.
    `put() { (umask 077; printf '%s' "$3" | base64 -d > "$1.etcdkit-new"); if [ -f "$1" ] && cmp -s "$1" "$1.etcdkit-new"; then rm -f "$1.etcdkit-new"; return 1; fi; chmod "$2" "$1.etcdkit-new"; mv "$1.etcdkit-new" "$1"; return 0; }`,
    sh`put ${supervise(c)} 755 ${b64(supervisorScript())} || true`,
    `if [ "$(id -u)" = 0 ] && ! id -u "$svc_user" >/dev/null 2>&1; then useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin -- "$svc_user"; echo "created user $svc_user"; fi`,
    `owner=; owner_group=; if [ "$(id -u)" = 0 ]; then owner=$svc_user; owner_group=$(id -gn "$svc_user"); fi`,
    `bundle_changed=${bundleChanged ? 1 : 0}`,
    `changed=`,
  ];
  for (const m of members) {
    const unit = unitFileName(m.name);
    lines.push(
      `# ---- ${m.name.replace(/[\r\n]/g, "?")}`,
      `c=$bundle_changed`,
      // The files in clear, as comments: what --dry-run shows and what lands on the host.
      commented(m.envFile, m.envText),
      sh`put ${m.envFile} 640 ${b64(m.envText)} && c=1`,
      sh`if [ -n "$owner" ]; then chgrp -- "$owner_group" ${m.envFile}; fi`,
      commented(`${d}/units/${unit}`, m.unitText),
      sh`put ${`${d}/units/${unit}`} 644 ${b64(m.unitText)} && c=1`,
      ...m.writablePaths.flatMap((p) => [sh`mkdir -p ${p} && chmod 700 ${p}`, sh`if [ -n "$owner" ]; then chown -R -- "$owner:$owner_group" ${p}; fi`]),
      ...certificateLines(m),
      sh`if [ "$mode" = systemd ]; then put ${`${c.unitDir}/${unit}`} 644 ${b64(m.unitText)} && c=1; fi`,
      sh`if [ "$c" = 1 ]; then changed="$changed "${m.name}; echo ${`${m.name}: files changed`}; else echo ${`${m.name}: files unchanged`}; fi`,
    );
  }
  lines.push(`if [ "$mode" = systemd ]; then systemctl daemon-reload; fi`);
  for (const m of members) {
    const unit = unitFileName(m.name);
    lines.push(
      sh`case " $changed " in *" "${m.name}" "*) c=1;; *) c=0;; esac`,
      `if [ "$mode" = systemd ]; then`,
      sh`  systemctl enable --quiet -- ${unit}`,
      // --no-block: a new member's Type=notify start only completes once a quorum runs, which needs the others started too.
      sh`  if [ "$c" = 1 ] && systemctl is-active --quiet -- ${unit}; then systemctl restart --no-block -- ${unit}; echo ${`${m.name}: restarting`}; else systemctl start --no-block -- ${unit}; echo ${`${m.name}: started (systemd)`}; fi`,
      `else`,
      sh`  if [ "$c" = 1 ] && ${supervise(c)} status ${m.name} >/dev/null 2>&1; then ${supervise(c)} restart ${m.name}; else ${supervise(c)} start ${m.name}; fi`,
      `fi`,
    );
  }
  if (backup) lines.push(...backupLines(c, backup));
  lines.push(`echo "mode=$mode"`);
  return lines.join("\n");
}

/** The member's certificates: a private folder, keys 600, all owned by the service user; a changed file restarts the member. */
function certificateLines(m: HostMemberFiles): string[] {
  if (!m.tls) return [];
  const dir = m.tls.dir;
  return [
    sh`mkdir -p ${dir} && chmod 700 ${dir}`,
    sh`if [ -n "$owner" ]; then chown -- "$owner:$owner_group" ${dir}; fi`,
    ...m.tls.files.flatMap((f) => [
      // A key's text is not shown (--dry-run prints the scripts); certificates are public.
      f.private ? `# ${f.path.replace(/[\r\n]/g, "?")}: private key, mode 600 (not shown)` : commented(f.path, f.text),
      sh`put ${f.path} ${f.private ? "600" : "644"} ${b64(f.text)} && c=1`,
      sh`if [ -n "$owner" ]; then chown -- "$owner:$owner_group" ${f.path}; fi`,
    ]),
  ];
}

export function restartScript(c: ClusterSettings, member: string): string {
  const unit = unitFileName(member);
  return [
    "set -eu",
    detect(c),
    // Blocking: with a quorum running, Type=notify's READY=1 comes once the member has rejoined.
    sh`if [ "$mode" = systemd ]; then systemctl restart -- ${unit}; echo ${`${member}: restarted (systemd)`}; else ${supervise(c)} restart ${member}; fi`,
  ].join("\n");
}

/** Starts or stops one member through its service manager (systemctl, or the supervisor where systemd is not running). */
export function serviceScript(c: ClusterSettings, member: string, action: "start" | "stop"): string {
  const unit = unitFileName(member);
  return [
    "set -eu",
    detect(c),
    sh`if [ "$mode" = systemd ]; then systemctl ${action} -- ${unit}; echo ${`${member}: ${action} (systemd)`}; else ${supervise(c)} ${action} ${member}; fi`,
  ].join("\n");
}

/** Prints `<member>=<state>` per member. */
export function statusScript(c: ClusterSettings, members: readonly string[]): string {
  return [
    "set -u",
    detect(c),
    `echo "mode=$mode"`,
    ...members.map((m) =>
      [
        sh`if [ "$mode" = systemd ]; then s=$(systemctl is-active -- ${unitFileName(m)} 2>/dev/null || true); p=$(systemctl show -p MainPID --value -- ${unitFileName(m)} 2>/dev/null || true); echo ${`${m}=`}"$s pid=$p";`,
        sh`elif [ -x ${supervise(c)} ]; then s=$(${supervise(c)} status ${m} 2>/dev/null || true); echo ${`${m}=`}"$s";`,
        sh`else echo ${`${m}=not-deployed`}; fi`,
      ].join(" "),
    ),
    "exit 0",
  ].join("\n");
}

/**
 * Stops, disables and removes everything of the given members. When no member is left on the host
 * it removes what deploy created in the deploy dir, and the deploy dir itself only if that leaves
 * it empty (a deployDir such as /usr is never removed wholesale).
 */
export function teardownScript(c: ClusterSettings, members: readonly Pick<HostMemberFiles, "name" | "envFile" | "writablePaths" | "tls">[], backupUnit?: string): string {
  const d = c.deployDir;
  const lines = ["set -u", detect(c)];
  // The backup timer and service go (wherever a deploy put them); the backups themselves are kept.
  if (backupUnit) {
    lines.push(
      sh`if [ "$have_systemd" = 1 ] && [ -f ${`${c.unitDir}/${backupUnit}.timer`} ]; then systemctl disable --now --quiet -- ${`${backupUnit}.timer`} 2>/dev/null || true; rm -f -- ${`${c.unitDir}/${backupUnit}.timer`} ${`${c.unitDir}/${backupUnit}.service`}; echo ${`${backupUnit}: timer removed (backups kept)`}; fi`,
    );
  }
  for (const m of members) {
    const unit = unitFileName(m.name);
    lines.push(
      `# ---- ${m.name.replace(/[\r\n]/g, "?")}`,
      sh`if [ "$have_systemd" = 1 ] && [ -f ${`${c.unitDir}/${unit}`} ]; then systemctl disable --now --quiet -- ${unit} 2>/dev/null || true; rm -f -- ${`${c.unitDir}/${unit}`}; fi`,
      sh`if [ -x ${supervise(c)} ]; then ${supervise(c)} stop ${m.name} >/dev/null 2>&1 || true; fi`,
      sh`rm -f -- ${m.envFile} ${`${d}/units/${unit}`} ${`${d}/log/${m.name}.log`} ${`${d}/run/${m.name}.pid`} ${`${d}/run/${m.name}.supervisor.pid`} ${`${d}/run/${m.name}.stop`}`,
      sh`rm -rf -- ${raw([...m.writablePaths, ...(m.tls ? [m.tls.dir] : [])].map((p) => sh`${p}`).join(" "))}`,
      sh`echo ${`${m.name}: removed`}`,
    );
  }
  lines.push(
    `if [ "$have_systemd" = 1 ]; then systemctl daemon-reload; systemctl reset-failed 'etcdkit-*' 2>/dev/null || true; fi`,
    sh`if [ -f ${`${d}/.etcdkit-deploy`} ] && [ -z "$(ls -A ${`${d}/units`} 2>/dev/null)" ]; then`,
    sh`  rm -rf -- ${`${d}/app`} ${`${d}/app.new`} ${`${d}/app.old`} ${`${d}/units`} ${`${d}/run`} ${`${d}/log`}`,
    sh`  rm -f -- ${supervise(c)} ${d}/etcd-ts-bundle-*.tgz ${`${d}/.etcdkit-deploy`}`,
    sh`  rmdir -- ${`${d}/bin`} 2>/dev/null; rmdir -- ${d} 2>/dev/null`,
    sh`  if [ -d ${d} ]; then echo ${`kept ${d}: it holds files etcdkit did not create`}; else echo ${`removed ${d}`}; fi`,
    `fi`,
    sh`rmdir -- ${c.envDir} ${c.dataDir} ${c.certDir} 2>/dev/null || true`,
    "exit 0",
  );
  return lines.join("\n");
}
