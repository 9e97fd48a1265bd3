#!/usr/bin/env bash
# Runs the whole test suite: unit tests and the integration tests in tests/it,
# which talk to real peers (FreeRADIUS, tests/py/radius_client.py, and as root
# a Samba AD DC on 127.0.0.1:389/636 started once for the run).
# usage: scripts/test.sh [cargo test args...]   e.g. scripts/test.sh radius -- --nocapture
# env:   MFAGATE_VENV  Python venv for the test client (default: <repo>/.venv)
#        MFAGATE_SAMBA_DIR    state dir of the AD DC (default: /tmp/mfagate-samba)
#        MFAGATE_SAMBA_REUSE  1: reuse the DC in MFAGATE_SAMBA_DIR if it answers
#                             (no provisioning, ~7 s saved), else start one; and
#                             leave it running (stop: scripts/stop-samba-ad.sh DIR)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

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
      trap 'scripts/stop-samba-ad.sh "$SAMBA_DIR" >/dev/null || true' EXIT
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

# --tests = lib and bin unit tests + integration tests. Not --all-targets: it
# adds --benches (and --examples), so benchmarks would run inside the test run.
# (Not "--lib --bins --tests" either: --lib fails while the crate has no lib.)
# Not exec: the EXIT trap stops the DC afterwards; cargo's status is ours.
status=0
cargo test --tests "$@" || status=$?
exit "$status"
