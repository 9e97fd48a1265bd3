#!/usr/bin/env bash
# Checks the upstream-RADIUS test peers directly (mfagate is not involved):
# starts scripts/start-radius-upstream.sh and, in front of it,
# scripts/start-radius-proxy.sh on free loopback ports, runs
# tests/py/mschap_client.py, tests/py/radius_client.py, tests/eap/run-eapol.sh
# and radclient against them, and stops both (also on failure or Ctrl-C).
# usage: check-radius-peers.sh
# env:   UP_PORT      upstream auth port (it also takes +1, +2); default: the
#                     first free of 28112, 28142, 28172, ...
#        PROXY_PORT   proxy auth port (and +1); default: the first free of
#                     28122, 28152, ...
#        CHECK_DIR    where both keep config and logs (default: a new
#                     /tmp/check-radius-peers.XXXXXX, removed afterwards unless
#                     a check failed or CHECK_KEEP=1)
#        PYTHON       python with pyrad + pycryptodome (default:
#                     ${MFAGATE_VENV:-<repo>/.venv}/bin/python)
# needs: root, freeradius, freeradius-utils, eapoltest, openssl and the venv
#        (scripts/install-test-deps.sh).
# Prints one line per check ("ok   NAME" or "FAIL NAME: why"), "info" lines
# (start-up times, where the Message-Authenticator sits in replies) and at the
# end "N passed, N failed"; exit status 0 only when all passed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-${MFAGATE_VENV:-$REPO/.venv}/bin/python}
MSCHAP=$REPO/tests/py/mschap_client.py
RADCLI=$REPO/tests/py/radius_client.py
EAPOL=$REPO/tests/eap/run-eapol.sh
UP_SECRET=upstream-secret-0123456789  # given to both scripts as RADIUS_SECRET
PX_SECRET=proxy-secret-0123456789
[ $# -eq 0 ] || { echo "usage: $0 (no arguments; see the header for env)" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then echo "$0: must run as root" >&2; exit 1; fi
"$PY" -c 'import pyrad, Crypto' 2>/dev/null ||
  { echo "$0: $PY lacks pyrad/pycryptodome: run scripts/install-test-deps.sh or set PYTHON" >&2; exit 1; }
for c in freeradius radclient eapol_test openssl; do
  command -v "$c" >/dev/null || { echo "$0: $c missing: run scripts/install-test-deps.sh" >&2; exit 1; }
done

# N consecutive UDP ports free on 127.0.0.1 from $1 on?
ports_free() {
  "$PY" - "$1" "$2" <<'PY'
import socket, sys
base, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
try:
    for p in range(base, base + n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); socks.append(s)
        s.bind(("127.0.0.1", p))
except OSError:
    sys.exit(1)
PY
}
pick_port() {  # NAME GIVEN DEFAULT COUNT
  local p=$3 i
  if [ -n "$2" ]; then
    ports_free "$2" "$4" || { echo "$0: $1=$2: ports $2..$(($2 + $4 - 1)) are not free" >&2; exit 1; }
    echo "$2"; return
  fi
  for i in $(seq 20); do
    if ports_free "$p" "$4"; then echo "$p"; return; fi
    p=$((p + 30))
  done
  echo "$0: no free ports for $1 near $3" >&2; exit 1
}
UP=$(pick_port UP_PORT "${UP_PORT:-}" 28112 3)
PX=$(pick_port PROXY_PORT "${PROXY_PORT:-}" 28122 2)
if [ "$PX" -le $((UP + 2)) ] && [ "$UP" -le $((PX + 1)) ]; then
  echo "$0: UP_PORT $UP..$((UP + 2)) and PROXY_PORT $PX..$((PX + 1)) overlap" >&2; exit 1
fi

OWN_DIR=
if [ -n "${CHECK_DIR:-}" ]; then W=$CHECK_DIR; mkdir -p "$W"; else W=$(mktemp -d /tmp/check-radius-peers.XXXXXX); OWN_DIR=1; fi
W=$(cd "$W" && pwd)
PASSED=0; FAILED=0
cleanup() {
  "$REPO/scripts/stop-freeradius.sh" "$W/proxy" || true
  "$REPO/scripts/stop-freeradius.sh" "$W/upstream" || true
  if [ -n "$OWN_DIR" ] && [ "$FAILED" -eq 0 ] && [ "${CHECK_KEEP:-}" != 1 ]; then
    rm -rf "$W"
  else
    echo "info logs and config kept in $W"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { PASSED=$((PASSED + 1)); echo "ok   $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1: $2"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
REPLIES=$W/replies.jsonl  # every JSON reply, for the Message-Authenticator summary

# check NAME PYTHON-EXPR CLIENT-ARGS...: runs mschap_client.py --enforce-ma (a
# reply without a valid Message-Authenticator fails every check) and evaluates
# EXPR with r = its JSON, h(s) = hex of text s.
check() {
  local name=$1 expr=$2 out; shift 2
  if ! out=$("$PY" "$MSCHAP" --enforce-ma "$@" 2>&1); then fail "$name" "client failed: $out"; return; fi
  printf '%s\n' "$out" >>"$REPLIES"
  if "$PY" -c '
import json, sys
r = json.loads(sys.argv[2])
h = lambda s: s.encode().hex()
sys.exit(0 if eval(sys.argv[1], {"r": r, "h": h}) else 1)' "$expr" "$out"; then
    pass "$name"
  else
    fail "$name" "${out:0:600}"
  fi
}

# --- start both, timed --------------------------------------------------------
t=$(date +%s%N)
if ! out=$(RADIUS_SECRET=$UP_SECRET FR_USERS=20 "$REPO/scripts/start-radius-upstream.sh" "$W/upstream" "$UP" 2>&1); then
  echo "$out"; fail "start-radius-upstream.sh" "did not start"; echo "$PASSED passed, $FAILED failed"; exit 1
fi
echo "info $out (start-up $(ms "$t") ms)"
t=$(date +%s%N)
if ! out=$(RADIUS_SECRET=$PX_SECRET "$REPO/scripts/start-radius-proxy.sh" "$W/proxy" "$PX" "$UP" "$UP_SECRET" 2>&1); then
  echo "$out"; fail "start-radius-proxy.sh" "did not start"; echo "$PASSED passed, $FAILED failed"; exit 1
fi
echo "info $out (start-up $(ms "$t") ms, proxy to 127.0.0.1:$UP)"
CA=$W/upstream/certs/test-ca.pem

U=(--server "127.0.0.1:$UP" --secret "$UP_SECRET")
P=(--server "127.0.0.1:$PX" --secret "$PX_SECRET")
ALICE='r["code"] == "Access-Accept" and r["class"] == h("upstream-class-alice") and r["filter_id"] == "vpn-users" and r["tunnel_password"] == "tunnel-secret-1" and ["Session-Timeout", 3600] in r["attrs"] and ["Framed-IP-Address", "10.8.0.5"] in r["attrs"] and ["Cisco-AVPair", [9, 1, h("shell:priv-lvl=15")]] in r["attrs"] and ["Tunnel-Type:1", 3] in r["attrs"] and ["Tunnel-Medium-Type:1", 1] in r["attrs"]'
MSV2_OK='r["mschap2_success_ok"] is True and r["mppe_keys_ok"] is True and r["mschap_error"] is None'

# --- the client's crypto --------------------------------------------------------
if out=$("$PY" "$MSCHAP" --self-test 2>&1); then pass "mschap_client.py --self-test (RFC 2759 §9.2, RFC 3079 §3.5)"
else fail "mschap_client.py --self-test" "$out"; fi

# --- upstream: users and methods ---------------------------------------------------
if "$PY" "$RADCLI" --server "127.0.0.1:$UP" --secret "$UP_SECRET" --status-server --enforce-ma |
     grep -q '"code": "Access-Accept"'; then pass "upstream Status-Server reply signed"
else fail "upstream Status-Server reply signed" "no valid signed Access-Accept"; fi
check "upstream PAP alice: Accept with Class, Filter-Id, Tunnel-Password, ..." "$ALICE" \
  "${U[@]}" --user alice --password alice-pass-1 --method pap
check "upstream CHAP alice: Accept with Class, Filter-Id, ..." "$ALICE" \
  "${U[@]}" --user alice --password alice-pass-1 --method chap
check "upstream MS-CHAPv2 alice: Accept, MS-CHAP2-Success S= ok, MPPE keys ok" "$ALICE and $MSV2_OK" \
  "${U[@]}" --user alice --password alice-pass-1 --method mschapv2
check "upstream MS-CHAP (v1) alice: Accept, MS-CHAP-MPPE-Keys ok" "$ALICE and r[\"mppe_keys_ok\"] is True" \
  "${U[@]}" --user alice --password alice-pass-1 --method mschap
check "upstream MS-CHAPv2 wrong password: Reject with MS-CHAP-Error E=691" \
  'r["code"] == "Access-Reject" and "E=691" in (r["mschap_error"] or "") and any(a[0] == "MS-CHAP-Error" for a in r["attrs"])' \
  "${U[@]}" --user alice --password wrong-pass --method mschapv2
check "upstream MS-CHAP (v1) wrong password: Reject with E=691" \
  'r["code"] == "Access-Reject" and "E=691" in (r["mschap_error"] or "")' \
  "${U[@]}" --user alice --password wrong-pass --method mschap
check "upstream PAP wrong password: Reject" 'r["code"] == "Access-Reject"' \
  "${U[@]}" --user alice --password wrong-pass --method pap
check "upstream CHAP wrong password: Reject" 'r["code"] == "Access-Reject"' \
  "${U[@]}" --user alice --password wrong-pass --method chap
check "upstream MS-CHAPv2 bob: Accept with Filter-Id staff only" \
  "r[\"code\"] == \"Access-Accept\" and r[\"filter_id\"] == \"staff\" and r[\"class\"] is None and $MSV2_OK" \
  "${U[@]}" --user bob --password bob-pass-1 --method mschapv2
check "upstream PAP carol: Accept, no attributes but the MA" \
  'r["code"] == "Access-Accept" and [a[0] for a in r["attrs"]] == ["Message-Authenticator"]' \
  "${U[@]}" --user carol --password carol-pass-1 --method pap
check "upstream PAP bulk user000020: Accept" 'r["code"] == "Access-Accept"' \
  "${U[@]}" --user user000020 --password pass000020 --method pap
check "upstream Proxy-State sent comes back unchanged, in order" \
  'r["code"] == "Access-Accept" and r["proxy_states"] == ["00", "0102030405", h("gateway-7")]' \
  "${U[@]}" --user alice --password alice-pass-1 --method mschapv2 --proxy-state 00 0102030405 "$(printf gateway-7 | od -An -tx1 | tr -d ' \n')"

# --- upstream: the RD Gateway stand-in policy -----------------------------------------
check "upstream RDG CORP\\alice, no password: Accept with Class rdg-authorized" \
  'r["code"] == "Access-Accept" and r["class"] == h("rdg-authorized") and [a[0] for a in r["attrs"]] == ["Message-Authenticator", "Class"]' \
  "${U[@]}" --user 'CORP\alice' --method none --nas-type rdg
check "upstream RDG gina@corp.example, no password: Accept" \
  'r["code"] == "Access-Accept" and r["class"] == h("rdg-authorized")' \
  "${U[@]}" --user 'gina@corp.example' --method none --nas-type rdg
check "upstream RDG mallory: Reject" 'r["code"] == "Access-Reject"' \
  "${U[@]}" --user mallory --method none --nas-type rdg
check "upstream RDG CORP\\mallory: Reject" 'r["code"] == "Access-Reject"' \
  "${U[@]}" --user 'CORP\mallory' --method none --nas-type rdg
check "upstream CORP\\alice without NAS type, no password: Reject" 'r["code"] == "Access-Reject"' \
  "${U[@]}" --user 'CORP\alice' --method none
check "upstream alice without NAS type, no password: Reject" 'r["code"] == "Access-Reject"' \
  "${U[@]}" --user alice --method none
check "upstream RDG NAS type with a wrong password: the password decides (Reject)" \
  'r["code"] == "Access-Reject"' "${U[@]}" --user alice --password wrong --method pap --nas-type rdg
check "upstream RDG NAS type with the password: normal Accept (alice's Class)" \
  "$ALICE" "${U[@]}" --user alice --password alice-pass-1 --method pap --nas-type rdg
check "upstream second client 127.0.0.2: Accept" 'r["code"] == "Access-Accept" and r["filter_id"] == "staff"' \
  "${U[@]}" --user bob --password bob-pass-1 --method chap --source 127.0.0.2
check "upstream wrong secret: no answer (timeout)" 'r["code"] == "timeout"' \
  --server "127.0.0.1:$UP" --secret not-the-secret --user alice --password alice-pass-1 --method pap --timeout 0.5
check "upstream request without MA: dropped (require_message_authenticator)" 'r["code"] == "timeout"' \
  "${U[@]}" --user alice --password alice-pass-1 --method pap --no-ma --timeout 0.5

# --- upstream: EAP ------------------------------------------------------------------
eap() {  # NAME WANT(0 = success, 1 = failure) CONF USER PASSWORD TAG (log: DIR/eapol-TAG.log)
  local out rc=0
  out=$(EAPOL_LOG="$W/eapol-$6.log" "$EAPOL" "$3" 127.0.0.1 "$UP" "$UP_SECRET" "$4" "$5" "$CA" 2>&1) || rc=$?
  if [ "$rc" -eq "$2" ]; then pass "$1 ($out)"; else fail "$1" "exit $rc: $out"; fi
}
ALICE_CLASS=$(printf upstream-class-alice | od -An -tx1 | tr -d ' \n')
eap "upstream EAP PEAP/MS-CHAPv2 alice: SUCCESS, MPPE keys OK" 0 peap-mschapv2 alice alice-pass-1 peap-alice
eap "upstream EAP TTLS/PAP alice: SUCCESS, MPPE keys OK" 0 ttls-pap alice alice-pass-1 ttls-alice
eap "upstream EAP PEAP/MS-CHAPv2 wrong password: FAILURE" 1 peap-mschapv2 alice wrong-pass peap-wrong
eap "upstream EAP TTLS/PAP wrong password: FAILURE" 1 ttls-pap alice wrong-pass ttls-wrong
eap "upstream EAP PEAP/MS-CHAPv2 bob: SUCCESS" 0 peap-mschapv2 bob bob-pass-1 peap-bob
for f in "$W/eapol-peap-alice.log" "$W/eapol-ttls-alice.log"; do
  if grep -q "^      Value: $ALICE_CLASS\$" "$f"; then pass "upstream EAP $(basename "$f" .log): alice's Class in the outer Access-Accept"
  else fail "upstream EAP $(basename "$f" .log): Class" "not in the Access-Accept"; fi
done
# eapol_test dumps every RADIUS message: is the MA the first attribute of each
# Access-Challenge/-Accept/-Reject? (it drops EAP replies without a valid one)
eap_ma=$(cat "$W"/eapol-*.log | awk '
  /^Received RADIUS message$/ { want = 1; next }
  want && /^RADIUS message: code=/ { n++; code = $3; next }
  want && /^   Attribute / { if ($2 == 80) first++; else print "not first in " code; want = 0 }')
n_eap=$(cat "$W"/eapol-*.log | grep -c '^Received RADIUS message$' || true)
if [ -z "$eap_ma" ] && [ "$n_eap" -gt 0 ]; then pass "upstream EAP: MA first in all $n_eap replies (Access-Challenge, -Accept, -Reject)"
else fail "upstream EAP: MA first" "${eap_ma:-no replies}"; fi

# --- upstream: accounting -------------------------------------------------------------
acct() {  # NAME PORT SECRET SESSION-ID
  local out
  out=$(printf 'Message-Authenticator = 0x00\nUser-Name = "alice"\nAcct-Status-Type = Start\nAcct-Session-Id = "%s"\nNAS-Identifier = "check-radius-peers"\n' "$4" |
          radclient -r 1 -t 3 "127.0.0.1:$2" acct "$3" 2>&1) || true
  if ! grep -q 'Received Accounting-Response' <<<"$out"; then fail "$1" "no Accounting-Response: $out"; return; fi
  for _ in $(seq 40); do
    if grep -q "Acct-Session-Id = \"$4\"" "$W/upstream/log/accounting.detail" 2>/dev/null; then
      pass "$1"; return
    fi
    sleep 0.05
  done
  fail "$1" "Acct-Session-Id $4 not in $W/upstream/log/accounting.detail"
}
acct "upstream Accounting-Request answered, in DIR/log/accounting.detail" "$((UP + 1))" "$UP_SECRET" "direct-$$"

# --- the proxy in front of the upstream ---------------------------------------------------
if "$PY" "$RADCLI" --server "127.0.0.1:$PX" --secret "$PX_SECRET" --status-server --enforce-ma |
     grep -q '"code": "Access-Accept"'; then pass "proxy Status-Server reply signed"
else fail "proxy Status-Server reply signed" "no valid signed Access-Accept"; fi
check "proxy PAP alice: Accept with Class (and the rest)" "$ALICE" \
  "${P[@]}" --user alice --password alice-pass-1 --method pap
check "proxy MS-CHAPv2 alice: MPPE keys re-encrypted for the proxy's secret" "$ALICE and $MSV2_OK" \
  "${P[@]}" --user alice --password alice-pass-1 --method mschapv2
check "proxy PAP wrong password: Reject" 'r["code"] == "Access-Reject"' \
  "${P[@]}" --user alice --password wrong-pass --method pap
check "proxy RDG CORP\\alice (NAS type passed on): Accept rdg-authorized" \
  'r["code"] == "Access-Accept" and r["class"] == h("rdg-authorized")' \
  "${P[@]}" --user 'CORP\alice' --method none --nas-type rdg
check "proxy RDG mallory: Reject" 'r["code"] == "Access-Reject"' \
  "${P[@]}" --user mallory --method none --nas-type rdg
check "proxy Proxy-State of its client comes back unchanged" \
  'r["code"] == "Access-Accept" and r["proxy_states"] == ["cafe", "01"]' \
  "${P[@]}" --user alice --password alice-pass-1 --method chap --proxy-state cafe 01
acct "proxy Accounting-Request forwarded, in the upstream's detail file" "$((PX + 1))" "$PX_SECRET" "proxied-$$"
eap_out=$(EAPOL_LOG="$W/eapol-proxy.log" "$EAPOL" peap-mschapv2 127.0.0.1 "$PX" "$PX_SECRET" alice alice-pass-1 "$CA" 2>&1) &&
  pass "proxy EAP PEAP/MS-CHAPv2 alice: SUCCESS ($eap_out)" || fail "proxy EAP PEAP/MS-CHAPv2 alice" "$eap_out"

# --- where the Message-Authenticator is -------------------------------------------------
"$PY" - "$REPLIES" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
rs = [r for r in rs if "has_ma" in r]
first = sum(r["ma_first"] for r in rs); signed = sum(r["has_ma"] and r["ma_valid"] for r in rs)
print(f"info Message-Authenticator: valid in {signed}/{len(rs)} replies, the first attribute in {first}/{len(rs)}")
PY

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
