#!/usr/bin/env bash
# Runs the whole test suite: unit tests and the integration tests in tests/it,
# which talk to real peers (FreeRADIUS, tests/py/radius_client.py, and as root
# a Samba AD DC on 127.0.0.1:389/636 and a FreeRADIUS upstream, each started
# once for the run).
# usage: scripts/test.sh [cargo test args...]   e.g. scripts/test.sh radius -- --nocapture
# env:   MFAGATE_VENV  Python venv for the test client (default: <repo>/.venv)
#        MFAGATE_SAMBA_DIR    state dir of the AD DC (default: /tmp/mfagate-samba)
#        MFAGATE_SAMBA_REUSE  1: reuse the DC in MFAGATE_SAMBA_DIR if it answers
#                             (no provisioning, ~7 s saved), else start one; and
#                             leave it running (stop: scripts/stop-samba-ad.sh DIR)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

# Peers started here are stopped on exit, whatever happens.
cleanup() {
  if [ "${STOP_SAMBA:-}" = 1 ]; then scripts/stop-samba-ad.sh "$SAMBA_DIR" >/dev/null || true; fi
  if declare -F pi_cleanup >/dev/null; then pi_cleanup; fi
  if [ -n "${UPSTREAM_DIR:-}" ]; then scripts/stop-freeradius.sh "$UPSTREAM_DIR" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# Installs FreeRADIUS and the venv if needed (< 1 s when all is there). Not
# root and Debian packages missing: it prints what to install and exits 1.
scripts/install-test-deps.sh

# Where the integration tests find the Python RADIUS client.
VENV=${MFAGATE_VENV:-$REPO/.venv}
export MFAGATE_TEST_PYTHON=$VENV/bin/python
export MFAGATE_TEST_PYDIR=$REPO/tests/py

# Active Directory (Samba AD DC) for the AD tests: one per run, found by the
# tests through AD_* variables from $SAMBA_DIR/env. Samba needs root (ports
# 389/636); without it the AD tests fail, on purpose, rather than skip.
SAMBA_DIR=${MFAGATE_SAMBA_DIR:-/tmp/mfagate-samba}
if [ "$(id -u)" -eq 0 ]; then
  # A reusable DC: started and seeded by us (env, seeded) and the service
  # account binds over LDAPS.
  # shellcheck source=/dev/null
  samba_answers() {
    [ -f "$SAMBA_DIR/env" ] && [ -f "$SAMBA_DIR/seeded" ] &&
      (. "$SAMBA_DIR/env" && LDAPTLS_CACERT=$AD_CA_PEM ldapsearch -x -H "$AD_LDAPS_URL" -o nettimeout=5 \
         -D "$AD_BIND_DN" -w "$AD_BIND_PASSWORD" -b '' -s base >/dev/null 2>&1)
  }
  if [ "${MFAGATE_SAMBA_REUSE:-}" = 1 ] && samba_answers; then
    echo "reusing the samba AD DC in $SAMBA_DIR (MFAGATE_SAMBA_REUSE=1; left running)"
    scripts/samba-ad-lock.sh "$SAMBA_DIR" >/dev/null  # in case gina.locked was unlocked
  else
    if [ "${MFAGATE_SAMBA_REUSE:-}" != 1 ]; then
      STOP_SAMBA=1
    fi
    scripts/start-samba-ad.sh "$SAMBA_DIR"
  fi
  # shellcheck source=/dev/null
  . "$SAMBA_DIR/env"
  scripts/verify-samba-ad.sh "$SAMBA_DIR" >"$SAMBA_DIR/log/verify.log" ||
    { cat "$SAMBA_DIR/log/verify.log" >&2; exit 1; }
  tail -1 "$SAMBA_DIR/log/verify.log"
else
  echo "not root: no Samba AD DC (it binds 389/636), so the AD integration tests will fail;" \
       "run as root for the full suite" >&2
fi

# privacyIDEA (a real MFA service) for tests/it/privacyidea.rs, one per run: its SMS
# gateway is tests/py/sms_sink.py and its SMTP server tests/py/smtp_sink.py, whose files
# the tests read the codes from. The venv (~30 s to build) is kept in .pi-venv.
PI_DIR=${MFAGATE_PI_DIR:-/tmp/mfagate-pi}
SINKS=$PI_DIR.sinks
export MFAGATE_PI_VENV=${MFAGATE_PI_VENV:-$REPO/.pi-venv}
pi_cleanup() {
  scripts/stop-privacyidea.sh "$PI_DIR" >/dev/null 2>&1 || true
  for f in "$SINKS"/*.pid; do [ -f "$f" ] && { kill "$(cat "$f")" 2>/dev/null || true; }; done
  return 0
}
pi_cleanup
rm -rf "$SINKS" && mkdir -p "$SINKS"
scripts/start-privacyidea.sh "$PI_DIR" >"$SINKS/start.log" 2>&1 ||
  { cat "$SINKS/start.log" >&2; exit 1; }
tail -1 "$SINKS/start.log"
start_sink() {  # NAME PYTHON SCRIPT: starts it on a free port, prints the port
  : >"$SINKS/$1.out"  # exists before the sink runs: the poll below reads it at once
  "$2" "$3" 0 "$SINKS/$1.jsonl" >"$SINKS/$1.out" 2>"$SINKS/$1.err" &
  echo $! >"$SINKS/$1.pid"
  for _ in $(seq 100); do
    port=$(sed -n 's/.*"listening": *\([0-9]*\).*/\1/p' "$SINKS/$1.out")
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.1
  done
  cat "$SINKS/$1.err" >&2; return 1
}
SMS_PORT=$(start_sink sms "$VENV/bin/python" tests/py/sms_sink.py)
SMTP_PORT=$(start_sink smtp "$MFAGATE_PI_VENV/bin/python" tests/py/smtp_sink.py)
python3 scripts/seed-privacyidea.py "$PI_DIR" "http://127.0.0.1:$SMS_PORT/sms" "$SMTP_PORT" \
  >"$SINKS/seed.json" 2>"$SINKS/seed.err" || { cat "$SINKS/seed.err" >&2; exit 1; }
# shellcheck source=/dev/null
. "$PI_DIR/env"
export PI_URL PI_REALM PI_ADMIN PI_ADMIN_PASSWORD
export MFAGATE_PI_SEED=$SINKS/seed.json MFAGATE_PI_SMS_OUT=$SINKS/sms.jsonl \
  MFAGATE_PI_SMTP_OUT=$SINKS/smtp.jsonl
echo "privacyIDEA on $PI_URL, SMS sink :$SMS_PORT, SMTP sink :$SMTP_PORT"

# FreeRADIUS standing in for NPS, the upstream primary of tests/it/upstream.rs, one per
# run on a free port triple (auth, accounting, inner tunnel); it needs root.
if [ "$(id -u)" -eq 0 ]; then
  UPSTREAM_DIR=${MFAGATE_UPSTREAM_DIR:-/tmp/mfagate-upstream}
  export MFAGATE_UPSTREAM_SECRET=upstream-secret-0123456789
  for port in $(seq 28300 30 29200); do
    if RADIUS_SECRET=$MFAGATE_UPSTREAM_SECRET scripts/start-radius-upstream.sh "$UPSTREAM_DIR" "$port" \
         >"$SINKS/upstream.log" 2>&1; then
      export MFAGATE_UPSTREAM_ADDR=127.0.0.1:$port MFAGATE_UPSTREAM_DIR=$UPSTREAM_DIR
      break
    fi
  done
  [ -n "${MFAGATE_UPSTREAM_ADDR:-}" ] || { cat "$SINKS/upstream.log" >&2; exit 1; }
  echo "FreeRADIUS upstream on $MFAGATE_UPSTREAM_ADDR"
else
  echo "not root: no FreeRADIUS upstream, so the upstream integration tests will fail" >&2
fi

# --tests = lib and bin unit tests + integration tests. Not --all-targets: it
# adds --benches (and --examples), so benchmarks would run inside the test run.
# (Not "--lib --bins --tests" either: --lib fails while the crate has no lib.)
# Not exec: the EXIT trap stops the peers afterwards; cargo's status is ours.
status=0
cargo test --tests "$@" || status=$?
exit "$status"
