/**
 * The POSIX sh scripts run on the hosts (one ssh session per host per step). Files travel inside
 * the script as base64, written only when their content changed (so re-runs are idempotent and
 * only changed members restart).
 */
import type { ClusterSettings } from "./inventory.js";

export const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const commented = (path: string, text: string) => [`# ${path}:`, ...text.trimEnd().split("\n").map((l) => `#   ${l}`)].join("\n");

export const SUPERVISOR = `#!/bin/sh
# etcdkit-supervise: runs a member's systemd unit where there is no systemd. It starts ExecStart=
# with the unit's EnvironmentFile=, restarts it RestartSec= after it exits (Restart=always), and
# keeps pid files in <deploy dir>/run and logs in <deploy dir>/log.
# Usage: etcdkit-supervise start|stop|restart|status MEMBER
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cmd=\${1:-}; member=\${2:-}
[ -n "$member" ] || { echo "usage: $0 start|stop|restart|status MEMBER" >&2; exit 2; }
unit="$here/units/etcdkit-$member.service"
rundir="$here/run"; logdir="$here/log"
sup="$rundir/$member.supervisor.pid"; srv="$rundir/$member.pid"; stopflag="$rundir/$member.stop"
log="$logdir/$member.log"
alive() { [ -s "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }
value() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
waitgone() { i=0; while alive "$1" && [ "$i" -lt "$2" ]; do sleep 0.2; i=$((i+1)); done; ! alive "$1"; }
case "$cmd" in
start)
  [ -f "$unit" ] || { echo "$member: no unit $unit" >&2; exit 1; }
  if alive "$sup"; then echo "$member: already running (pid $(cat "$srv" 2>/dev/null))"; exit 0; fi
  mkdir -p "$rundir" "$logdir"; rm -f "$stopflag" "$srv"
  if command -v setsid >/dev/null 2>&1; then setsid "$0" run "$member" </dev/null >>"$log" 2>&1 &
  else nohup "$0" run "$member" </dev/null >>"$log" 2>&1 & fi
  i=0; while ! alive "$srv" && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  alive "$srv" || { echo "$member: did not start, see $log" >&2; tail -n 20 "$log" >&2; exit 1; }
  echo "$member: started (pid $(cat "$srv"))";;
run)
  echo $$ >"$sup"
  envfile=$(value EnvironmentFile); envfile=\${envfile#-}
  exec_start=$(value ExecStart); delay=$(value RestartSec); delay=\${delay:-5}
  child=
  trap 'touch "$stopflag"; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT HUP
  while [ ! -f "$stopflag" ]; do
    ( set -a; . "$envfile"; set +a; exec $exec_start ) &
    child=$!; echo "$child" >"$srv"
    while kill -0 "$child" 2>/dev/null; do wait "$child"; done
    [ -f "$stopflag" ] && break
    echo "etcdkit-supervise: $member (pid $child) exited; restarting in \${delay}s"
    sleep "$delay"
  done
  rm -f "$srv" "$sup";;
stop)
  mkdir -p "$rundir"; touch "$stopflag"
  if alive "$srv"; then kill -TERM "$(cat "$srv")" 2>/dev/null; waitgone "$srv" 50 || kill -KILL "$(cat "$srv")" 2>/dev/null; fi
  if alive "$sup"; then kill -TERM "$(cat "$sup")" 2>/dev/null; waitgone "$sup" 25 || kill -KILL "$(cat "$sup")" 2>/dev/null; fi
  waitgone "$srv" 25 || true
  rm -f "$srv" "$sup"
  echo "$member: stopped";;
restart) "$0" stop "$member" >/dev/null && "$0" start "$member";;
status) if alive "$srv"; then echo "active pid=$(cat "$srv")"; else echo inactive; exit 3; fi;;
*) echo "usage: $0 start|stop|restart|status MEMBER" >&2; exit 2;;
esac
`;

/** Sets $mode to systemd or supervisor. */
function detect(c: ClusterSettings): string {
  return [
    `manager=${q(c.serviceManager)}`,
    `if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then have_systemd=1; else have_systemd=0; fi`,
    `if [ "$manager" = auto ]; then if [ "$have_systemd" = 1 ]; then mode=systemd; else mode=supervisor; fi; else mode=$manager; fi`,
    `if [ "$mode" = systemd ] && [ "$have_systemd" = 0 ]; then echo "serviceManager is systemd but systemd is not running here" >&2; exit 1; fi`,
  ].join("\n");
}

export function serverBinary(c: ClusterSettings): string {
  return c.server === "etcd-ts" ? c.nodePath : c.server === "etcd" ? c.etcdPath : c.server;
}

/** Checks a host can take the deployment; prints key=value lines. Changes nothing. */
export function preflightScript(c: ClusterSettings): string {
  return [
    "set -u",
    detect(c),
    `echo "mode=$mode"`,
    `echo "uid=$(id -u)"`,
    `for t in base64 cmp sed tar; do command -v "$t" >/dev/null 2>&1 || echo "missing=$t"; done`,
    `if [ -x ${q(serverBinary(c))} ]; then echo "server=ok"; else echo "missing=${serverBinary(c)}"; fi`,
    ...(c.server === "etcd-ts" ? [`echo "node=$(${q(c.nodePath)} --version 2>/dev/null)"`] : []),
    `echo "bundle=$(cat ${q(c.deployDir + "/app/.bundle-id")} 2>/dev/null)"`,
    `if [ "$mode" = systemd ] && [ "$(id -u)" != 0 ]; then echo "missing=root (systemd units need root: use cluster.sudo)"; fi`,
    "exit 0",
  ].join("\n");
}

export function unpackBundleScript(c: ClusterSettings, remoteTarball: string, bundleId: string): string {
  const app = `${c.deployDir}/app`;
  return [
    "set -eu",
    `rm -rf ${q(app + ".new")} && mkdir -p ${q(app + ".new")}`,
    `tar -xzf ${q(remoteTarball)} -C ${q(app + ".new")}`,
    `printf '%s\\n' ${q(bundleId)} > ${q(app + ".new/.bundle-id")}`,
    `rm -rf ${q(app + ".old")}`,
    `if [ -d ${q(app)} ]; then mv ${q(app)} ${q(app + ".old")}; fi`,
    `mv ${q(app + ".new")} ${q(app)}`,
    `rm -rf ${q(app + ".old")} ${q(remoteTarball)}`,
    `echo "bundle ${bundleId.slice(0, 12)} installed in ${app}"`,
  ].join("\n");
}

export interface HostMemberFiles {
  readonly name: string;
  readonly envFile: string;
  readonly envText: string;
  readonly unitText: string;
  readonly dataDir: string;
}

/** Installs files, then enables and starts (or restarts, if anything of theirs changed) the members of one host. */
export function deployScript(c: ClusterSettings, members: readonly HostMemberFiles[], bundleChanged: boolean): string {
  const d = c.deployDir;
  const lines = [
    "set -eu",
    "umask 022",
    detect(c),
    `mkdir -p ${q(d + "/bin")} ${q(d + "/units")} ${q(d + "/run")} ${q(d + "/log")} ${q(c.envDir)} ${q(c.dataDir)}`,
    `touch ${q(d + "/.etcdkit-deploy")}`,
    `put() { printf '%s' "$3" | base64 -d > "$1.etcdkit-new"; if [ -f "$1" ] && cmp -s "$1" "$1.etcdkit-new"; then rm -f "$1.etcdkit-new"; return 1; fi; chmod "$2" "$1.etcdkit-new"; mv "$1.etcdkit-new" "$1"; return 0; }`,
    `put ${q(d + "/bin/etcdkit-supervise")} 755 ${q(b64(SUPERVISOR))} || true`,
    `if [ "$mode" = systemd ] && [ "$(id -u)" = 0 ] && ! id -u ${q(c.user)} >/dev/null 2>&1; then useradd --system --no-create-home --shell /usr/sbin/nologin ${q(c.user)}; echo "created user ${c.user}"; fi`,
    `owner=; if [ "$(id -u)" = 0 ] && id -u ${q(c.user)} >/dev/null 2>&1; then owner=${q(c.user)}; fi`,
    `bundle_changed=${bundleChanged ? 1 : 0}`,
    `changed=`,
  ];
  for (const m of members) {
    const unitName = `etcdkit-${m.name}.service`;
    lines.push(
      `# ---- ${m.name}`,
      `c=$bundle_changed`,
      // The files in clear, as comments: what --dry-run shows and what lands on the host.
      commented(m.envFile, m.envText),
      `put ${q(m.envFile)} 640 ${q(b64(m.envText))} && c=1`,
      commented(`${d}/units/${unitName}`, m.unitText),
      `put ${q(`${d}/units/${unitName}`)} 644 ${q(b64(m.unitText))} && c=1`,
      `mkdir -p ${q(m.dataDir)} && chmod 700 ${q(m.dataDir)}`,
      `if [ -n "$owner" ]; then chown "$owner" ${q(m.dataDir)}; chgrp "$owner" ${q(m.envFile)} 2>/dev/null || true; fi`,
      `if [ "$mode" = systemd ]; then put ${q(`${c.unitDir}/${unitName}`)} 644 ${q(b64(m.unitText))} && c=1; fi`,
      `[ "$c" = 1 ] && changed="$changed ${m.name}"`,
      `echo "${m.name}: files $( [ "$c" = 1 ] && echo changed || echo unchanged )"`,
    );
  }
  lines.push(`if [ "$mode" = systemd ]; then systemctl daemon-reload; fi`);
  for (const m of members) {
    const unitName = `etcdkit-${m.name}.service`;
    lines.push(
      `case " $changed " in *" ${m.name} "*) c=1;; *) c=0;; esac`,
      `if [ "$mode" = systemd ]; then`,
      `  systemctl enable --quiet ${unitName}`,
      // --no-block: a new member's Type=notify start only completes once a quorum runs, which needs the others started too.
      `  if [ "$c" = 1 ] && systemctl is-active --quiet ${unitName}; then systemctl restart --no-block ${unitName}; echo "${m.name}: restarting"; else systemctl start --no-block ${unitName}; echo "${m.name}: started (systemd)"; fi`,
      `else`,
      `  if [ "$c" = 1 ] && ${q(d + "/bin/etcdkit-supervise")} status ${m.name} >/dev/null 2>&1; then ${q(d + "/bin/etcdkit-supervise")} restart ${m.name}; else ${q(d + "/bin/etcdkit-supervise")} start ${m.name}; fi`,
      `fi`,
    );
  }
  lines.push(`echo "mode=$mode"`);
  return lines.join("\n");
}

export function restartScript(c: ClusterSettings, member: string): string {
  const unitName = `etcdkit-${member}.service`;
  return [
    "set -eu",
    detect(c),
    // Blocking: with a quorum running, Type=notify's READY=1 comes once the member has rejoined.
    `if [ "$mode" = systemd ]; then systemctl restart ${unitName}; echo "${member}: restarted (systemd)"; else ${q(c.deployDir + "/bin/etcdkit-supervise")} restart ${member}; fi`,
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
        `if [ "$mode" = systemd ]; then s=$(systemctl is-active etcdkit-${m}.service 2>/dev/null || true); p=$(systemctl show -p MainPID --value etcdkit-${m}.service 2>/dev/null || true); echo "${m}=$s pid=$p";`,
        `elif [ -x ${q(c.deployDir + "/bin/etcdkit-supervise")} ]; then echo "${m}=$(${q(c.deployDir + "/bin/etcdkit-supervise")} status ${m} 2>/dev/null || true)";`,
        `else echo "${m}=not-deployed"; fi`,
      ].join(" "),
    ),
    "exit 0",
  ].join("\n");
}

/** Stops, disables and removes everything of the given members; removes the deploy dir when no member is left on the host. */
export function teardownScript(c: ClusterSettings, members: readonly { name: string; envFile: string; dataDir: string }[]): string {
  const d = c.deployDir;
  const lines = ["set -u", detect(c)];
  for (const m of members) {
    const unitName = `etcdkit-${m.name}.service`;
    lines.push(
      `# ---- ${m.name}`,
      `if [ "$have_systemd" = 1 ] && [ -f ${q(`${c.unitDir}/${unitName}`)} ]; then systemctl disable --now --quiet ${unitName} 2>/dev/null || true; rm -f ${q(`${c.unitDir}/${unitName}`)}; fi`,
      `if [ -x ${q(d + "/bin/etcdkit-supervise")} ]; then ${q(d + "/bin/etcdkit-supervise")} stop ${m.name} >/dev/null 2>&1 || true; fi`,
      `rm -f ${q(m.envFile)} ${q(`${d}/units/${unitName}`)} ${q(`${d}/log/${m.name}.log`)} ${q(`${d}/run/${m.name}.pid`)} ${q(`${d}/run/${m.name}.supervisor.pid`)} ${q(`${d}/run/${m.name}.stop`)}`,
      `rm -rf ${q(m.dataDir)}`,
      `echo "${m.name}: removed"`,
    );
  }
  lines.push(
    `if [ "$have_systemd" = 1 ]; then systemctl daemon-reload; systemctl reset-failed 'etcdkit-*' 2>/dev/null || true; fi`,
    `if [ -f ${q(d + "/.etcdkit-deploy")} ] && [ -z "$(ls -A ${q(d + "/units")} 2>/dev/null)" ]; then rm -rf ${q(d)}; echo "removed ${d}"; fi`,
    `rmdir ${q(c.envDir)} ${q(c.dataDir)} 2>/dev/null || true`,
    "exit 0",
  );
  return lines.join("\n");
}
