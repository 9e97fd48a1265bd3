#!/usr/bin/env bash
# Runs one EAP authentication with eapol_test (wpa_supplicant's RADIUS/EAP test
# client) against a RADIUS server: renders an eapol_test config template of
# this directory (peap-mschapv2.conf, ttls-pap.conf) and runs
#   eapol_test -c RENDERED -a SERVER -p PORT -s SECRET -r 0 -t 30
# usage: run-eapol.sh CONF SERVER PORT SECRET USER PASSWORD CA
#   CONF  a template (a path, or a name in tests/eap/, with or without .conf)
#   CA    the CA certificate the server's must verify against (PEM), e.g.
#         DIR/certs/test-ca.pem of scripts/start-radius-upstream.sh
# env:  EAPOL_LOG       keep eapol_test's full output in this file (else it is
#                       thrown away; on failure its last lines go to stderr)
#       EAPOL_ANON      outer (anonymous) identity; default: none, the outer
#                       EAP-Identity and User-Name are USER, as Windows sends them
#       EAPOL_TIMEOUT   eapol_test's -t (default 30)
# Prints one line on stdout:
#   eapol_test SUCCESS|FAILURE code=<last RADIUS reply> mppe_ok=N mppe_mismatch=N class=HEX|-
# where code is Access-Accept, Access-Reject, ... or "none" (no reply: timeout),
# mppe_ok/mismatch are eapol_test's "MPPE keys OK: N  mismatch: N" (its check that
# the MS-MPPE-Recv/Send-Key of the Access-Accept match the MSK it derived
# itself; a failed run counts one mismatch: 0 1) and class the Class of the
# last reply. Exit 0 on SUCCESS with the MPPE keys OK, 1 otherwise, 2 on usage errors.
# needs: eapoltest (scripts/install-test-deps.sh).
set -euo pipefail

if [ $# -ne 7 ]; then
  echo "usage: $0 CONF SERVER PORT SECRET USER PASSWORD CA" >&2; exit 2
fi
CONF=$1; SERVER=$2; PORT=$3; SECRET=$4; USER_=$5; PASSWORD=$6; CA=$7
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -f "$CONF" ]; then
  for c in "$HERE/$CONF" "$HERE/$CONF.conf"; do
    if [ -f "$c" ]; then CONF=$c; break; fi
  done
fi
[ -f "$CONF" ] || { echo "$0: no such template: $1" >&2; exit 2; }
case "$PORT" in ''|*[!0-9]*) echo "PORT must be a number: $PORT" >&2; exit 2 ;; esac
[ -r "$CA" ] || { echo "$0: CA certificate not readable: $CA" >&2; exit 2; }
case "$CA" in *[\"$'\n']*) echo "$0: CA path must not hold \" or a newline" >&2; exit 2 ;; esac
[ -n "$USER_" ] || { echo "$0: USER must not be empty" >&2; exit 2; }
TIMEOUT=${EAPOL_TIMEOUT:-30}
command -v eapol_test >/dev/null || { echo "eapol_test missing: run scripts/install-test-deps.sh" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/run-eapol.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
ANON_LINE=
if [ -n "${EAPOL_ANON:-}" ]; then ANON_LINE="anonymous_identity=$(hex "$EAPOL_ANON")"; fi
# wpa_supplicant reads an unquoted value of identity/password as hex octets.
sed -e "s|@IDENTITY@|$(hex "$USER_")|" -e "s|@PASSWORD@|$(hex "$PASSWORD")|" \
    -e "s|@ANON_IDENTITY_LINE@|$ANON_LINE|" -e "s|@CA_CERT@|$(printf '%s' "$CA" | sed 's/[|&\\]/\\&/g')|" \
    "$CONF" >"$TMP/eapol.conf"
if grep -q '@[A-Z_]*@' "$TMP/eapol.conf"; then
  echo "$0: unknown placeholder left in $CONF" >&2; exit 2
fi

LOG=${EAPOL_LOG:-$TMP/eapol.log}
rc=0
eapol_test -c "$TMP/eapol.conf" -a "$SERVER" -p "$PORT" -s "$SECRET" -r 0 -t "$TIMEOUT" \
  >"$LOG" 2>&1 </dev/null || rc=$?

# The last RADIUS message received, its Class; eapol_test's verdict lines.
summary=$(awk '
  /^Received RADIUS message$/ { inreply = 1; next }
  inreply && /^RADIUS message: code=/ { code = $0; sub(/.*\(/, "", code); sub(/\).*/, "", code); cls = "-"; next }
  inreply && /^   Attribute 25 \(Class\)/ { getclass = 1; next }
  getclass && /^      Value: / { cls = $2; getclass = 0; next }
  /^   Attribute / { getclass = 0; next }
  /^[^ ]/ { inreply = inreply && /^RADIUS message: code=/; getclass = 0 }
  /^MPPE keys OK: / { ok = $4; mm = $6 }
  /^SUCCESS$/ { verdict = "SUCCESS" }
  /^FAILURE$/ { verdict = "FAILURE" }
  END {
    if (verdict == "") verdict = "FAILURE"
    if (code == "") code = "none"
    if (cls == "") cls = "-"
    printf "eapol_test %s code=%s mppe_ok=%d mppe_mismatch=%d class=%s\n", verdict, code, ok + 0, mm + 0, cls
  }' "$LOG")
echo "$summary"
case "$summary" in
  "eapol_test SUCCESS "*" mppe_ok=1 mppe_mismatch=0 "*) [ "$rc" -eq 0 ] && exit 0 ;;
esac
if [ -z "${EAPOL_LOG:-}" ]; then
  echo "$0: eapol_test exit $rc; last lines of its output:" >&2
  tail -15 "$LOG" >&2
fi
exit 1
