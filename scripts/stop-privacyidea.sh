#!/usr/bin/env bash
# Stops the privacyIDEA started by scripts/start-privacyidea.sh DIR: the gunicorn
# master in DIR/gunicorn.pid (it stops its workers), then any process left over
# from DIR (workers of a killed master, a lost pid file). Never by name: another
# DIR's server keeps running. With --clean, DIR is removed too; a venv outside DIR
# (MFAGATE_PI_VENV) is kept, one inside DIR (the default DIR/venv) goes with it.
# usage: stop-privacyidea.sh DIR [--clean]
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ] || { [ $# -eq 2 ] && [ "$2" != --clean ]; }; then
  echo "usage: $0 DIR [--clean]" >&2; exit 2
fi
D=$1; CLEAN=${2:-}
[ -d "$D" ] || exit 0  # never started, or already removed
D=$(cd "$D" && pwd -P)  # physical, as start-privacyidea.sh wrote it into the command line
if [ -n "$CLEAN" ] && [ -n "$(ls -A "$D")" ] && [ ! -f "$D/.mfagate-privacyidea" ]; then
  echo "$0: $D is not a privacyIDEA dir from start-privacyidea.sh; not removing it" >&2; exit 1
fi
# gunicorn's master and its workers all carry the app string, which names DIR's config.
TAG="config_file='$D/pi.cfg'"

# Alive = exists and is not a zombie (a zombie holds no port, and may never be
# reaped if pid 1 does not reap orphans).
alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || true
  [ -n "$st" ] && [ "$st" != Z ]
}
# Ours = DIR's app string on the command line; pids get reused, so a pid file
# alone proves nothing.
# (mapfile, not grep: no fork per process, and no grep whose own arguments match)
ours() {
  local args=() a hit=
  { mapfile -d "" args <"/proc/$1/cmdline"; } 2>/dev/null || return 1
  for a in "${args[@]}"; do case "$a" in *"$TAG"*) hit=1; break ;; esac; done
  [ -n "$hit" ] && alive "$1"
}
ours_pids() {
  local c p
  for c in /proc/[0-9]*/cmdline; do
    p=${c#/proc/}; p=${p%/cmdline}
    [ "$p" = $$ ] && continue
    if ours "$p"; then echo "$p"; fi
  done
}

stopped=
if [ -f "$D/gunicorn.pid" ]; then
  pid=$(cat "$D/gunicorn.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && ours "$pid"; then
    # INT: gunicorn's quick shutdown (TERM waits up to 30 s for busy workers)
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done  # up to 10 s
    stopped=$pid
  fi
fi
# Workers still exiting, strays, a master that ignored INT: INT (TERM would let a
# worker wait out its idle timeout), then KILL after 5 s.
if [ -n "$stopped" ]; then
  for _ in $(seq 20); do [ -z "$(ours_pids)" ] && break; sleep 0.1; done
fi
strays=$(ours_pids)
if [ -n "$strays" ]; then
  echo "stopping leftover privacyIDEA processes of $D: ${strays//$'\n'/ }"
  # shellcheck disable=SC2086
  kill -INT $strays 2>/dev/null || true
  for _ in $(seq 50); do [ -z "$(ours_pids)" ] && break; sleep 0.1; done
  strays=$(ours_pids)
  # shellcheck disable=SC2086
  if [ -n "$strays" ]; then kill -KILL $strays 2>/dev/null || true; sleep 0.2; fi
  if [ -n "$(ours_pids)" ]; then
    echo "$0: privacyIDEA processes of $D would not die: $(ours_pids)" >&2; exit 1
  fi
fi
rm -f "$D/gunicorn.pid"
if [ -n "$stopped" ]; then echo "privacyIDEA (gunicorn $stopped) stopped"; fi
if [ -n "$CLEAN" ]; then rm -rf "$D"; fi
