#!/usr/bin/env bash
# Starts a throw-away OpenLDAP slapd on 127.0.0.1 that looks enough like Active
# Directory for mfagate's directory import (schema: scripts/ad-lite.schema), seeded
# with USERS users for the import benchmark. LDAP on 3890, LDAPS on 6360, base DN
# DC=test,DC=local; runs as the current user (any user: ports > 1024).
# usage: start-slapd.sh DIR [USERS]     (USERS default 100000)
# stop:  scripts/stop-slapd.sh DIR [--clean]
# needs: packages slapd, ldap-utils, openssl (scripts/install-test-deps.sh), awk.
# env:   MFAGATE_SLAPD_SIZELIMIT  entries per unpaged search (default 1000, like AD's
#        MaxPageSize: they stop there with sizeLimitExceeded; paged searches get
#        everything, in pages of any size); "unlimited" lifts it.
#
# Seeded tree (DNs in AD's upper-case style):
#   CN=svc-mfa,OU=Service,...   service account (password below), reads everything
#   CN=userNNNNNN,OU=People,... USERS users: sAMAccountName userNNNNNN, UPN and mail
#       userNNNNNN@test.local, displayName "User NNNNNN", mobile (odd NNNNNN) or
#       telephoneNumber (even), userAccountControl 512, every 100th 514 (disabled)
#   CN=mfa-users,OU=Groups,...  group of the first 1000 users (member + memberOf)
# Files: DIR/env (source it), DIR/tls/ca.pem, DIR/slapd.conf, DIR/slapd.pid,
#        DIR/seed.ldif, DIR/db/ (mdb), DIR/slapd.log (start-up errors only).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ]; then echo "usage: $0 DIR [USERS]" >&2; exit 2; fi
D=$1
USERS=${2:-100000}
case "$USERS" in '' | *[!0-9]*) echo "$0: USERS must be a number, not '$USERS'" >&2; exit 2 ;; esac
USERS=$((10#$USERS))  # (no octal surprises from leading zeros)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SIZELIMIT=${MFAGATE_SLAPD_SIZELIMIT:-1000}

LDAP_PORT=3890
LDAPS_PORT=6360
SUFFIX=DC=test,DC=local
PEOPLE=OU=People,$SUFFIX
GROUP_DN=CN=mfa-users,OU=Groups,$SUFFIX
SVC_DN=CN=svc-mfa,OU=Service,$SUFFIX
SVC_PASS='Svc-Password-123!'
ADMIN_DN=CN=admin,$SUFFIX  # rootdn: not subject to ACLs or limits
ADMIN_PASS='Adm1n-Passw0rd-789!'
MEMBERS=$(( USERS < 1000 ? USERS : 1000 ))  # of mfa-users

# slapd and slapadd live in /usr/sbin, often not in a normal user's PATH.
PATH=$PATH:/usr/sbin
for c in slapd slapadd slappasswd ldapsearch openssl awk; do
  command -v "$c" >/dev/null || { echo "$0: $c missing: run scripts/install-test-deps.sh" >&2; exit 1; }
done

ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)

# DIR is wiped: only when it is ours (a previous run) or empty, never anything else.
if [ -e "$D" ] && [ -n "$(ls -A "$D")" ] && [ ! -f "$D/.mfagate-slapd" ]; then
  echo "$0: $D exists and is not a slapd dir from this script; not wiping it" >&2; exit 1
fi
# A slapd from the same DIR would hold the ports (and its files are about to go).
"$HERE/stop-slapd.sh" "$D"
# Anything else on our ports (another DIR's slapd) would make slapd fail: say so now.
for port in $LDAP_PORT $LDAPS_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$0: 127.0.0.1:$port is already in use (another slapd? scripts/stop-slapd.sh DIR); stop it first" >&2
    exit 1
  fi
done
rm -rf "$D"; mkdir -p "$D"
# absolute and physical: slapd.conf paths must not depend on the cwd, and
# stop-slapd.sh looks for "-f DIR/slapd.conf" on slapd's command line
D=$(cd "$D" && pwd -P)
touch "$D/.mfagate-slapd"
mkdir -p "$D/tls" "$D/db"
cp "$HERE/ad-lite.schema" "$D/ad-lite.schema"  # the running server must not see later edits

# --- TLS -----------------------------------------------------------------------
# Own CA + a server cert valid for IP:127.0.0.1 and DNS:localhost (EC: fast to make).
(
  cd "$D/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=mfagate test slapd CA" -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout key.pem -out server.csr 2>/dev/null
  printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
    'extendedKeyUsage=serverAuth' 'basicConstraints=CA:FALSE' >ext.cnf
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile ext.cnf -out cert.pem 2>/dev/null
  chmod 600 key.pem ca.key
)

# --- config ----------------------------------------------------------------------
if [ "$SIZELIMIT" = unlimited ]; then
  LIMITS="size=unlimited size.pr=unlimited size.prtotal=unlimited"
else
  case "$SIZELIMIT" in '' | *[!0-9]*) echo "$0: MFAGATE_SLAPD_SIZELIMIT: number or unlimited" >&2; exit 2 ;; esac
  # size: unpaged searches. size.pr: any page size (AD silently caps pages at 1000,
  # slapd would refuse larger ones: adminLimitExceeded). prtotal: paged get everything.
  LIMITS="size.soft=$SIZELIMIT size.hard=$SIZELIMIT size.pr=unlimited size.prtotal=unlimited"
fi
ADMIN_HASH=$(slappasswd -h '{SSHA}' -s "$ADMIN_PASS")
cat >"$D/slapd.conf" <<EOF
# written by scripts/start-slapd.sh
include   /etc/ldap/schema/core.schema
include   /etc/ldap/schema/cosine.schema
include   /etc/ldap/schema/inetorgperson.schema
include   $D/ad-lite.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile   $D/slapd.pid
argsfile  $D/slapd.args
loglevel  none
# slapadd: index with both cores
tool-threads 2
TLSCACertificateFile  $D/tls/ca.pem
TLSCertificateFile    $D/tls/cert.pem
TLSCertificateKeyFile $D/tls/key.pem

# Like AD: anyone may read the root DSE (and the schema); the tree needs a bind.
access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read

database  mdb
# ~1.1 KiB per user; 4 KiB each + 1 GiB leaves room for what tests add. Not too
# generous: slapadd -q sizes data.mdb to it (sparse, but ls/cp see the full size).
maxsize   $(( (1 << 30) + USERS * 4096 ))
suffix    "$SUFFIX"
rootdn    "$ADMIN_DN"
rootpw    $ADMIN_HASH
directory $D/db
index objectClass,objectCategory,sAMAccountName,userPrincipalName,mail,member,memberOf eq
# Passwords: usable for binds, readable by nobody, not even their owner (AD never
# returns them either).
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
limits users $LIMITS
EOF
# -u: check the config only; opening the still empty database read-only would fail
slapd -Tt -u -f "$D/slapd.conf" >"$D/slaptest.log" 2>&1 ||
  { echo "$0: bad slapd.conf:" >&2; cat "$D/slaptest.log" >&2; exit 1; }
t1=$(ms)

# --- seed LDIF -------------------------------------------------------------------
# awk, not ldapadd: 100k entries in well under a second, then loaded offline.
SVC_HASH=$(slappasswd -h '{SSHA}' -s "$SVC_PASS")
cat >"$D/seed.ldif" <<EOF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: test
o: test.local

dn: $PEOPLE
objectClass: organizationalUnit
ou: People

dn: OU=Groups,$SUFFIX
objectClass: organizationalUnit
ou: Groups

dn: OU=Service,$SUFFIX
objectClass: organizationalUnit
ou: Service

dn: $SVC_DN
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
objectCategory: person
cn: svc-mfa
sn: svc-mfa
displayName: mfagate service account
sAMAccountName: svc-mfa
userPrincipalName: svc-mfa@test.local
userAccountControl: 66048
userPassword: $SVC_HASH

EOF
# mobile for odd user numbers, telephoneNumber for even; 514 = 512 + ACCOUNTDISABLE.
awk -v n="$USERS" -v members="$MEMBERS" -v people="$PEOPLE" -v group="$GROUP_DN" 'BEGIN {
  printf "dn: %s\nobjectClass: top\nobjectClass: group\nobjectCategory: group\n", group
  printf "cn: mfa-users\nsAMAccountName: mfa-users\ngroupType: -2147483646\n"
  for (i = 1; i <= members; i++) printf "member: CN=user%06d,%s\n", i, people
  printf "\n"
  for (i = 1; i <= n; i++) {
    num = sprintf("%06d", i)
    printf "dn: CN=user%s,%s\nobjectClass: top\nobjectClass: person\n", num, people
    printf "objectClass: organizationalPerson\nobjectClass: user\nobjectCategory: person\n"
    printf "cn: user%s\nsn: %s\ngivenName: User\ndisplayName: User %s\n", num, num, num
    printf "sAMAccountName: user%s\nuserPrincipalName: user%s@test.local\n", num, num
    printf "mail: user%s@test.local\n", num
    if (i % 2) printf "mobile: +1555%07d\n", i; else printf "telephoneNumber: +4930%07d\n", i
    printf "userAccountControl: %d\n", (i % 100 ? 512 : 514)
    if (i <= members) printf "memberOf: %s\n", group
    printf "\n"
  }
}' >>"$D/seed.ldif"
t2=$(ms)

# -q: no per-entry consistency checks or syncs (a fresh, empty database).
slapadd -q -f "$D/slapd.conf" -l "$D/seed.ldif" >"$D/slapadd.log" 2>&1 ||
  { echo "$0: slapadd failed:" >&2; tail -20 "$D/slapadd.log" >&2; exit 1; }
t3=$(ms)

# --- run -------------------------------------------------------------------------
# slapd forks into the background itself and writes DIR/slapd.pid.
slapd -f "$D/slapd.conf" -h "ldap://127.0.0.1:$LDAP_PORT/ ldaps://127.0.0.1:$LDAPS_PORT/" \
  </dev/null >"$D/slapd.log" 2>&1 ||
  { echo "$0: slapd failed to start:" >&2; cat "$D/slapd.log" >&2; exit 1; }

# Ready once the service account can search over LDAPS (TLS verified); up to 30 s.
export LDAPTLS_CACERT=$D/tls/ca.pem
up=
for _ in $(seq 300); do
  if ldapsearch -x -H "ldaps://127.0.0.1:$LDAPS_PORT" -o nettimeout=2 -D "$SVC_DN" -w "$SVC_PASS" \
       -b "$PEOPLE" -s base dn >/dev/null 2>&1; then up=1; break; fi
  sleep 0.1
done
if [ -z "$up" ]; then
  echo "$0: slapd did not answer on ldaps://127.0.0.1:$LDAPS_PORT as $SVC_DN:" >&2
  ldapsearch -x -H "ldaps://127.0.0.1:$LDAPS_PORT" -o nettimeout=2 -D "$SVC_DN" -w "$SVC_PASS" \
    -b "$PEOPLE" -s base dn >&2 || true
  cat "$D/slapd.log" >&2
  "$HERE/stop-slapd.sh" "$D" || true
  exit 1
fi
t4=$(ms)

# What the tests and benchmarks need to reach the server.
cat >"$D/env" <<ENV
# written by scripts/start-slapd.sh; source it
export SLAPD_LDAPS_URL=ldaps://127.0.0.1:$LDAPS_PORT SLAPD_LDAP_URL=ldap://127.0.0.1:$LDAP_PORT
export SLAPD_CA_PEM=$(printf %q "$D/tls/ca.pem") SLAPD_BASE_DN=$SUFFIX
export SLAPD_BIND_DN=$SVC_DN SLAPD_BIND_PASSWORD='$SVC_PASS'
export SLAPD_PEOPLE_OU=$PEOPLE SLAPD_USERS=$USERS
export SLAPD_USER_FILTER='(&(objectCategory=person)(objectClass=user))'
export SLAPD_GROUP_MFA_USERS=$GROUP_DN SLAPD_GROUP_MEMBERS=$MEMBERS SLAPD_DISABLED_USERS=$((USERS / 100))
export SLAPD_ADMIN_DN=$ADMIN_DN SLAPD_ADMIN_PASSWORD='$ADMIN_PASS'
export SLAPD_DIR=$(printf %q "$D")
ENV
echo "slapd pid $(cat "$D/slapd.pid") ready on 127.0.0.1:$LDAP_PORT/$LDAPS_PORT with $USERS users" \
     "in $(( t4 - t0 )) ms (tls+config $(( t1 - t0 )), ldif $(( t2 - t1 )), slapadd $(( t3 - t2 )), start $(( t4 - t3 ))); env: $D/env"
