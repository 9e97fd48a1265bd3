#!/usr/bin/env bash
# Stops the Samba AD DC started by scripts/start-samba-ad.sh DIR: the pid in
# DIR/samba.pid, then any samba process left over from DIR (its workers, or a
# DC whose pid file was lost). Never by name alone: a DC of another DIR keeps
# running. With --clean, DIR is removed too.
# usage: stop-samba-ad.sh DIR [--clean]
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ] || { [ $# -eq 2 ] && [ "$2" != --clean ]; }; then
  echo "usage: $0 DIR [--clean]" >&2; exit 2
fi
D=$1; CLEAN=${2:-}
[ -d "$D" ] || exit 0  # never started, or already removed
D=$(cd "$D" && pwd -P)  # physical, as /proc/PID/cwd shows it
if [ -n "$CLEAN" ] && [ -n "$(ls -A "$D")" ] && [ ! -f "$D/.mfagate-samba-ad" ]; then
  echo "$0: $D is not a Samba dir from start-samba-ad.sh; not removing it" >&2; exit 1
fi

# Alive = exists and is not a zombie (a zombie holds no port, and may never be
# reaped if pid 1 does not reap orphans).
alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || true
  [ -n "$st" ] && [ "$st" != Z ]
}
# Ours = the samba binary running with cwd DIR (start-samba-ad.sh starts it
# there, its forked workers inherit it). Samba rewrites its process titles
# ("samba: task[ldap] ..."), so the command line cannot tell which DIR it is.
ours() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  case "${exe##*/}" in samba | "samba (deleted)") ;; *) return 1 ;; esac
  [ "$(readlink "/proc/$1/cwd" 2>/dev/null)" = "$D" ]
}
# find -lname: one process for the cwd test of all pids (a readlink each
# would fork a few hundred times per sweep); DIR's glob characters escaped.
D_GLOB=$(printf '%s' "$D" | sed 's/[][*?\\]/\\&/g')
ours_pids() {
  local c p
  # (|| true: find fails on pids that exit while it runs)
  { find /proc/[0-9]*/cwd -maxdepth 0 -lname "$D_GLOB" 2>/dev/null || true; } | while read -r c; do
    p=${c#/proc/}; p=${p%/cwd}
    if ours "$p" && alive "$p"; then echo "$p"; fi
  done
}

stopped=
if [ -f "$D/samba.pid" ]; then
  pid=$(cat "$D/samba.pid")
  # Only signal the pid if it is still that samba (pids get reused).
  if [ -n "$pid" ] && ours "$pid" && alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do  # up to 10 s; the workers leave with it
      [ -z "$(ours_pids)" ] && break
      sleep 0.1
    done
    stopped=$pid
  fi
fi
# Strays: workers that outlived their root process, or a DC from this DIR that
# lost its pid file. TERM first, KILL after 5 s.
strays=$(ours_pids)
if [ -n "$strays" ]; then
  # shellcheck disable=SC2086
  kill -TERM $strays 2>/dev/null || true
  for _ in $(seq 50); do [ -z "$(ours_pids)" ] && break; sleep 0.1; done
  strays=$(ours_pids)
  # shellcheck disable=SC2086
  if [ -n "$strays" ]; then kill -KILL $strays 2>/dev/null || true; sleep 0.2; fi
  if [ -n "$(ours_pids)" ]; then echo "$0: samba processes of $D would not die: $(ours_pids)" >&2; exit 1; fi
fi
rm -f "$D/samba.pid" "$D/seeded"
if [ -n "$stopped" ]; then echo "samba AD DC $stopped stopped"; fi
if [ -n "$CLEAN" ]; then rm -rf "$D"; fi
