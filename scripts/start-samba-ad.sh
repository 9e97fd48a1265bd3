#!/usr/bin/env bash
# Starts a throw-away Samba Active Directory DC on 127.0.0.1 for the AD tests:
# realm TEST.LOCAL, NetBIOS domain TEST, base DN DC=test,DC=local, LDAP on
# 389 (plain + StartTLS) and LDAPS on 636 (Samba's ports cannot be moved, so
# one DC per machine / network namespace). Provisions afresh in DIR, seeds it
# (scripts/seed-samba-ad.sh) and writes DIR/env for the tests to source.
# usage: start-samba-ad.sh DIR          stop: scripts/stop-samba-ad.sh DIR
# needs: root (ports < 1024), packages from scripts/install-test-deps.sh.
# Files: DIR/tls/ca.pem (CA of the server cert, valid for 127.0.0.1 and
#        localhost), DIR/samba.pid, DIR/log/, DIR/env.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then echo "usage: $0 DIR" >&2; exit 2; fi
D=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REALM=TEST.LOCAL
DOMAIN=TEST
# Administrator of the throw-away domain (seeding only; also exported in DIR/env).
ADMINPASS='Adm1n-Passw0rd-789!'

if [ "$(id -u)" -ne 0 ]; then echo "$0: must run as root (Samba binds 389/636)" >&2; exit 1; fi
for c in samba samba-tool ldapsearch ldapmodify openssl iconv; do
  command -v "$c" >/dev/null || { echo "$0: $c missing: run scripts/install-test-deps.sh" >&2; exit 1; }
done

ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)

# DIR is wiped: only when it is ours (a previous run) or empty, never anything else.
if [ -e "$D" ] && [ -n "$(ls -A "$D")" ] && [ ! -f "$D/.mfagate-samba-ad" ]; then
  echo "$0: $D exists and is not a Samba dir from this script; not wiping it" >&2; exit 1
fi
# A DC from the same DIR would hold the ports (and its files are about to go).
"$HERE/stop-samba-ad.sh" "$D"
# Anything else on 389/636 (another DIR's DC, a system samba) would make ours
# fail to bind after a long wait: say so now.
for port in 389 636; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$0: 127.0.0.1:$port is already in use (another Samba/LDAP server?); stop it first" >&2
    exit 1
  fi
done
rm -rf "$D"; mkdir -p "$D"
# absolute and physical: smb.conf paths must not depend on the cwd, and
# stop-samba-ad.sh compares it with /proc/PID/cwd
D=$(cd "$D" && pwd -P)
touch "$D/.mfagate-samba-ad"
mkdir -p "$D/tls" "$D/log" "$D/run"

# --- TLS ---------------------------------------------------------------------
# Samba's auto-generated certificate has no subjectAltName (CN=DC1.test.local
# only, RSA 4096, slow to make), so no client can verify it for 127.0.0.1.
# Our own CA + a server cert with IP:127.0.0.1 and DNS:localhost instead.
(
  cd "$D/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=mfagate test AD CA" -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=dc1.test.local" -keyout key.pem -out server.csr 2>/dev/null
  printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:dc1.test.local,DNS:test.local' \
    'extendedKeyUsage=serverAuth' 'basicConstraints=CA:FALSE' >ext.cnf
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile ext.cnf -out cert.pem 2>/dev/null
  chmod 600 key.pem ca.key  # Samba refuses a key file others can read
)

# --- provision -----------------------------------------------------------------
# dns-backend NONE and "server services = ldap": only the LDAP server runs (no
# smb, kdc, dns, rpc, winbindd), which is all the tests use and starts fastest.
# All state, sockets and logs stay in DIR (nothing under /var or /run).
t1=$(ms)
samba-tool domain provision --quiet --targetdir="$D" \
  --realm="$REALM" --domain="$DOMAIN" --server-role=dc --dns-backend=NONE \
  --host-name=dc1 --adminpass="$ADMINPASS" \
  --option="interfaces = 127.0.0.1" --option="bind interfaces only = yes" \
  --option="server services = ldap" \
  --option="tls enabled = yes" --option="tls keyfile = $D/tls/key.pem" \
  --option="tls certfile = $D/tls/cert.pem" --option="tls cafile = $D/tls/ca.pem" \
  --option="pid directory = $D/run" --option="log file = $D/log/log.samba" \
  --option="ncalrpc dir = $D/run/ncalrpc" --option="winbindd socket directory = $D/run/winbindd" \
  --option="ntp signd socket directory = $D/run/ntp_signd" \
  >"$D/log/provision.log" 2>&1 || { echo "$0: provision failed:" >&2; tail -30 "$D/log/provision.log" >&2; exit 1; }
# Simple binds over plain ldap:// (the tests use it, and StartTLS on 389);
# provision silently drops this one from --option, so add it by hand.
sed -i '/^\[global\]/a\	ldap server require strong auth = no' "$D/etc/smb.conf"
grep -q 'ldap server require strong auth = no' "$D/etc/smb.conf"
t2=$(ms)

# What the tests (and seed/verify/lock scripts) need to reach the DC.
cat >"$D/env" <<ENV
# written by scripts/start-samba-ad.sh; source it
export AD_LDAPS_URL=ldaps://127.0.0.1:636 AD_LDAP_URL=ldap://127.0.0.1:389
export AD_CA_PEM=$(printf %q "$D/tls/ca.pem") AD_BASE_DN=DC=test,DC=local
export AD_BIND_DN=svc-mfa@test.local AD_BIND_PASSWORD='Svc-Password-123!'
export AD_NETBIOS=TEST AD_REALM=test.local
export AD_GROUP_MFA_USERS=CN=mfa-users,CN=Users,DC=test,DC=local
export AD_GROUP_MFA_NESTED=CN=mfa-nested,CN=Users,DC=test,DC=local
export AD_GROUP_VPN_BYPASS=CN=vpn-bypass,CN=Users,DC=test,DC=local
export AD_GROUP_VPN_DENY=CN=vpn-deny,CN=Users,DC=test,DC=local
export AD_PEOPLE_OU=OU=People,DC=test,DC=local AD_OTHER_OU=OU=Other,DC=test,DC=local
export AD_ADMIN_DN=Administrator@test.local AD_ADMIN_PASSWORD='$ADMINPASS'
export AD_SAMBA_DIR=$(printf %q "$D")
ENV

# --- run -------------------------------------------------------------------------
# -F: no daemonising, so $! is the root samba process (its pid goes to
# DIR/samba.pid; it forks the LDAP workers). Its process title hides the
# command line, so stop-samba-ad.sh recognises strays by their cwd: DIR.
(cd "$D" && exec samba -F -s "$D/etc/smb.conf" -l "$D/log" </dev/null >>"$D/log/stdout.log" 2>&1) &
echo $! >"$D/samba.pid"
pid=$(cat "$D/samba.pid")

# Ready once LDAPS takes a simple bind (the Administrator's: the service
# account comes with the seed); up to 60 s.
export LDAPTLS_CACERT=$D/tls/ca.pem
up=
for _ in $(seq 600); do
  if ldapsearch -x -H ldaps://127.0.0.1:636 -o nettimeout=2 -D Administrator@test.local -w "$ADMINPASS" \
       -b '' -s base defaultNamingContext >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$up" ]; then
  echo "$0: samba did not come up on 127.0.0.1:636; last log lines:" >&2
  tail -30 "$D/log/stdout.log" "$D/log/log.samba" >&2 || true
  "$HERE/stop-samba-ad.sh" "$D" || true
  exit 1
fi
t3=$(ms)

if ! "$HERE/seed-samba-ad.sh" "$D"; then
  echo "$0: seeding failed" >&2; "$HERE/stop-samba-ad.sh" "$D" || true; exit 1
fi

# The service account must bind over LDAPS before the DC counts as ready.
# shellcheck source=/dev/null
. "$D/env"
if ! out=$(ldapsearch -x -H "$AD_LDAPS_URL" -o nettimeout=5 -D "$AD_BIND_DN" -w "$AD_BIND_PASSWORD" \
             -b '' -s base defaultNamingContext 2>&1); then
  echo "$0: service account bind failed: $out" >&2; "$HERE/stop-samba-ad.sh" "$D" || true; exit 1
fi
touch "$D/seeded"
echo "samba AD DC pid $pid ready on 127.0.0.1:389/636 in $(( $(ms) - t0 )) ms" \
     "(provision $(( t2 - t1 )), start $(( t3 - t2 )), seed $(( $(ms) - t3 ))); env: $D/env"
