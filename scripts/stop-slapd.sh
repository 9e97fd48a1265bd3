#!/usr/bin/env bash
# Stops the slapd started by scripts/start-slapd.sh DIR: the pid in DIR/slapd.pid,
# then any slapd/slapadd still running with "-f DIR/slapd.conf" (pid file lost, or
# a start that was interrupted). Never by name alone: a slapd of another DIR, or
# the system's, keeps running. With --clean, DIR is removed too.
# usage: stop-slapd.sh DIR [--clean]
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ] || { [ $# -eq 2 ] && [ "$2" != --clean ]; }; then
  echo "usage: $0 DIR [--clean]" >&2; exit 2
fi
D=$1; CLEAN=${2:-}
[ -d "$D" ] || exit 0  # never started, or already removed
D=$(cd "$D" && pwd -P)  # physical, as start-slapd.sh wrote it into the command line
if [ -n "$CLEAN" ] && [ -n "$(ls -A "$D")" ] && [ ! -f "$D/.mfagate-slapd" ]; then
  echo "$0: $D is not a slapd dir from start-slapd.sh; not removing it" >&2; exit 1
fi
CONF=$D/slapd.conf

# Alive = exists and is not a zombie (a zombie holds no port, and may never be
# reaped if pid 1 does not reap orphans).
alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || true
  [ -n "$st" ] && [ "$st" != Z ]
}
# Ours = slapd (or slapadd, the same binary) with "-f DIR/slapd.conf" among its
# arguments; pids get reused, so a pid file alone proves nothing.
ours() {
  local comm=
  read -r comm <"/proc/$1/comm" 2>/dev/null || return 1
  case "$comm" in slapd | slapadd) ;; *) return 1 ;; esac
  tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF -- "$CONF" || return 1
  alive "$1"
}
ours_pids() {
  local comm p c
  for comm in /proc/[0-9]*/comm; do
    c=; read -r c <"$comm" 2>/dev/null || continue  # (read: no fork per process)
    case "$c" in slapd | slapadd) ;; *) continue ;; esac
    p=${comm#/proc/}; p=${p%/comm}
    if ours "$p"; then echo "$p"; fi
  done
}

stopped=
if [ -f "$D/slapd.pid" ]; then
  pid=$(cat "$D/slapd.pid")
  if [ -n "$pid" ] && ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true  # slapd closes the database cleanly on TERM
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done  # up to 10 s
    stopped=$pid
  fi
fi
# Strays (and a slapd that ignored TERM): TERM, then KILL after 5 s.
strays=$(ours_pids)
if [ -n "$strays" ]; then
  echo "stopping slapd processes of $D without a pid file: ${strays//$'\n'/ }"
  # shellcheck disable=SC2086
  kill -TERM $strays 2>/dev/null || true
  for _ in $(seq 50); do [ -z "$(ours_pids)" ] && break; sleep 0.1; done
  strays=$(ours_pids)
  # shellcheck disable=SC2086
  if [ -n "$strays" ]; then kill -KILL $strays 2>/dev/null || true; sleep 0.2; fi
  if [ -n "$(ours_pids)" ]; then echo "$0: slapd processes of $D would not die: $(ours_pids)" >&2; exit 1; fi
fi
rm -f "$D/slapd.pid"
if [ -n "$stopped" ]; then echo "slapd $stopped stopped"; fi
if [ -n "$CLEAN" ]; then rm -rf "$D"; fi
