#!/bin/sh
# etcdkit-supervise: runs a member's systemd unit where there is no systemd (see
# ansible-free-scripts/README.md). It starts ExecStart= as the unit's User=/Group= (setpriv, else
# runuser; never silently as the caller) with its UMask=, LimitNOFILE=, NoNewPrivileges= and a
# clean environment (PATH, HOME, USER, LOGNAME and the EnvironmentFile= lines), restarts it
# RestartSec= after it exits (Restart=always), and keeps pid files in <deploy dir>/run and logs in
# <deploy dir>/log. Unit and env values are read, never evaluated: one holding quotes, '$', '`',
# '\' or '%' is refused, ExecStart= is split on blanks with globbing off, and env lines reach `env`
# as single words instead of being sourced.
# Usage: etcdkit-supervise start|stop|restart|status MEMBER
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}; member=${2:-}
usage() { echo "usage: $0 start|stop|restart|status MEMBER" >&2; exit 2; }
case "$member" in ''|-*|*[!a-z0-9-]*) usage;; esac
unit="$here/units/etcdkit-$member.service"
rundir="$here/run"; logdir="$here/log"
sup="$rundir/$member.supervisor.pid"; srv="$rundir/$member.pid"; stopflag="$rundir/$member.stop"
log="$logdir/$member.log"
alive() { [ -s "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }
value() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
waitgone() { i=0; while alive "$1" && [ "$i" -lt "$2" ]; do sleep 0.2; i=$((i+1)); done; ! alive "$1"; }
die() { echo "etcdkit-supervise: $member: $*" >&2; exit 1; }
# A unit value passed on: plain characters only, nothing a shell or systemd would interpret.
plain() {
  case "$2" in *[![:alnum:]/._+\ -]*) die "$1=$2 holds characters this supervisor does not interpret (quotes, '\$', '\`', '%', '\\'): refusing to run it";; esac
}

# Reads the unit into variables; exits with a message when anything is off.
load() {
  [ -f "$unit" ] || die "no unit $unit"
  for k in ExecStart EnvironmentFile User Group UMask LimitNOFILE RestartSec NoNewPrivileges; do plain "$k" "$(value "$k")"; done
  exec_start=$(value ExecStart); envfile=$(value EnvironmentFile)
  user=$(value User); group=$(value Group); mask=$(value UMask); nofile=$(value LimitNOFILE)
  nnp=$(value NoNewPrivileges); delay=$(value RestartSec)
  case "$exec_start" in /*) ;; *) die "ExecStart=$exec_start is not an absolute command";; esac
  case "$envfile" in ''|/*) ;; *) die "EnvironmentFile=$envfile is not an absolute path";; esac
  case "$mask" in '') mask=0022;; [0-7][0-7][0-7]|[0-7][0-7][0-7][0-7]) ;; *) die "UMask=$mask is not an octal mask";; esac
  case "$delay" in '') delay=5;; *[!0-9]*) die "RestartSec=$delay is not a whole number of seconds";; esac
  case "$nofile" in *[!0-9]*) die "LimitNOFILE=$nofile is not a number";; esac
  me=$(id -un); mygroup=$(id -gn)
  [ -n "$user" ] || user=$me
  id -u "$user" >/dev/null 2>&1 || die "User=$user does not exist"
  [ -n "$group" ] || group=$(id -gn "$user")
  home=$(getent passwd "$user" 2>/dev/null | cut -d: -f6)
  [ -n "$home" ] || home=/
  if [ "$user" != "$me" ] || [ "$group" != "$mygroup" ]; then
    [ "$(id -u)" = 0 ] || die "User=$user needs root to switch to, but this runs as $me (use cluster.sudo, or set cluster.user to $me)"
    command -v setpriv >/dev/null 2>&1 || command -v runuser >/dev/null 2>&1 || die "needs setpriv or runuser (util-linux) to run as User=$user"
  fi
}

# Runs the member (exec): privilege drop, clean environment, then ExecStart=.
launch() {
  set -f
  if [ "$user" = "$me" ] && [ "$group" = "$mygroup" ]; then set --
  elif command -v setpriv >/dev/null 2>&1; then
    set -- setpriv --reuid="$user" --regid="$group" --init-groups --inh-caps=-all
    if [ "$(id -u)" = 0 ]; then set -- "$@" --bounding-set=-all; fi
    if [ "$nnp" = yes ]; then set -- "$@" --no-new-privs; fi
    set -- "$@" --
  else set -- runuser -u "$user" -g "$group" --; fi
  set -- "$@" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" USER="$user" LOGNAME="$user"
  if [ -n "$envfile" ]; then
    [ -r "$envfile" ] || die "cannot read EnvironmentFile=$envfile"
    while IFS= read -r line || [ -n "$line" ]; do
      case "$line" in ''|'#'*) continue;; *=*) ;; *) die "$envfile: not a KEY=VALUE line: $line";; esac
      case "${line%%=*}" in ''|[0-9]*|*[!A-Za-z0-9_]*) die "$envfile: not a KEY=VALUE line: $line";; esac
      case "${line#*=}" in *[\"\'\\\$\`]*) die "$envfile: quoted or escaped values are not supported here: $line";; esac
      set -- "$@" "$line"
    done <"$envfile"
  fi
  for w in $exec_start; do set -- "$@" "$w"; done
  umask "$mask"
  if [ -n "$nofile" ]; then ulimit -n "$nofile" 2>/dev/null || echo "etcdkit-supervise: $member: cannot set LimitNOFILE=$nofile, keeping $(ulimit -n)"; fi
  exec "$@"
}

case "$cmd" in
start)
  load
  if alive "$sup"; then echo "$member: already running (pid $(cat "$srv" 2>/dev/null))"; exit 0; fi
  mkdir -p "$rundir" "$logdir"; rm -f "$stopflag" "$srv"
  if command -v setsid >/dev/null 2>&1; then setsid "$0" run "$member" </dev/null >>"$log" 2>&1 &
  else nohup "$0" run "$member" </dev/null >>"$log" 2>&1 & fi
  i=0; while ! alive "$srv" && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  alive "$srv" || { echo "$member: did not start, see $log" >&2; tail -n 20 "$log" >&2; exit 1; }
  echo "$member: started (pid $(cat "$srv"), user $user)";;
run)
  load
  echo $$ >"$sup"
  child=
  trap 'touch "$stopflag"; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT HUP
  while [ ! -f "$stopflag" ]; do
    ( launch ) &
    child=$!; echo "$child" >"$srv"
    while kill -0 "$child" 2>/dev/null; do wait "$child"; done
    [ -f "$stopflag" ] && break
    echo "etcdkit-supervise: $member (pid $child) exited; restarting in ${delay}s"
    sleep "$delay"
    load
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
*) usage;;
esac
