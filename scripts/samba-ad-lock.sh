#!/usr/bin/env bash
# Locks AD accounts of the DC from scripts/start-samba-ad.sh DIR the way a
# user would: wrong-password binds until the DC answers "data 775" (locked
# out). The seed locks gina.locked this way; tests may call it again (e.g.
# after unlocking her, or to lock another account: those stay locked for the
# domain's 1 minute, gina for 99999 minutes through her own PSO).
# usage: samba-ad-lock.sh DIR [SAM...]      (default: gina.locked)
set -euo pipefail

if [ $# -lt 1 ] || [ -z "$1" ]; then echo "usage: $0 DIR [SAM...]" >&2; exit 2; fi
D=$1; shift
[ $# -gt 0 ] || set -- gina.locked
# shellcheck source=/dev/null
. "$D/env"
export LDAPTLS_CACERT=$AD_CA_PEM

for sam in "$@"; do
  locked=
  # threshold 3: the 3rd bad bind locks, the 4th already answers 775 (a
  # locked account answers 775 whatever the password). A few spare tries.
  for _ in $(seq 8); do
    out=$(ldapsearch -x -H "$AD_LDAPS_URL" -o nettimeout=5 -D "$AD_NETBIOS\\$sam" \
            -w 'not-the-password' -b '' -s base 2>&1) || true
    if grep -q 'data 775,' <<<"$out"; then locked=1; break; fi
    if ! grep -q 'data 52e,' <<<"$out"; then
      echo "$0: unexpected answer for $sam: $out" >&2; exit 1
    fi
  done
  [ -n "$locked" ] || { echo "$0: $sam did not get locked" >&2; exit 1; }
  echo "$sam locked"
done
