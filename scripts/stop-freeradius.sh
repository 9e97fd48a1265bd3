#!/usr/bin/env bash
# Stops a FreeRADIUS started by scripts/start-freeradius.sh DIR PORT,
# scripts/start-radius-upstream.sh DIR PORT or scripts/start-radius-proxy.sh
# DIR ... (by the pid it wrote to DIR/run/pid; never by name, other instances
# keep running).
# usage: stop-freeradius.sh DIR
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then echo "usage: $0 DIR" >&2; exit 2; fi
PIDFILE=$1/run/pid
[ -f "$PIDFILE" ] || exit 0  # never started, or already stopped
pid=$(cat "$PIDFILE")

# Alive = exists and is not a zombie (a zombie holds no port, and may never be
# reaped if pid 1 does not reap orphans).
alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || true
  [ -n "$st" ] && [ "$st" != Z ]
}

# Only signal the pid if it is still that freeradius (pids get reused).
if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = freeradius ]; then
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do  # up to 5 s for a clean exit, then force it
    alive || break
    sleep 0.05
  done
  if alive; then
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 40); do alive || break; sleep 0.05; done
  fi
fi
rm -f "$PIDFILE"
