#!/usr/bin/env bash
# Seeds the DC of scripts/start-samba-ad.sh DIR with the test directory (start
# calls it; on a fresh DC only). Everything goes in one LDIF over LDAPS as the
# domain Administrator (one ldapmodify, ~0.2 s; a samba-tool call costs ~1 s).
#
#   password policy: lockout after 3 bad passwords for 1 minute (observation
#     window 1 min), min password age 0, no complexity, no history, passwords
#     never expire; gina.locked gets a password settings object (PSO) with a
#     99999-minute lockout so she stays locked while the DC lives.
#   OU=People, OU=Other; users (password Passw0rd-<sam>!, mail <sam>@test.local)
#   and groups in CN=Users: see the LDIF below; scripts/verify-samba-ad.sh
#   checks them, and the AD sub-codes 52e/533/701/773/775, with real binds.
# usage: seed-samba-ad.sh DIR
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then echo "usage: $0 DIR" >&2; exit 2; fi
D=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
. "$D/env"
export LDAPTLS_CACERT=$AD_CA_PEM
B=$AD_BASE_DN

# unicodePwd: the password in double quotes, UTF-16LE, base64 (AD takes it
# over TLS only, hence LDAPS).
upw() { printf '"%s"' "$1" | iconv -f UTF-8 -t UTF-16LE | base64 -w0; }
# AD intervals are negative 100 ns ticks.
MIN=-600000000

# user DN SAM UPN PASSWORD userAccountControl [more LDIF lines...]
# (512 = normal account, 514 = disabled, 66048 = normal + password never expires)
user() {
  local dn=$1 sam=$2 upn=$3 pw=$4 uac=$5; shift 5
  printf 'dn: %s\nchangetype: add\nobjectClass: user\nsAMAccountName: %s\n' "$dn" "$sam"
  printf 'userPrincipalName: %s\nunicodePwd:: %s\nuserAccountControl: %s\n' "$upn" "$(upw "$pw")" "$uac"
  if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi
  echo
}
# group NAME MEMBER_DN...  (global security group: groupType 0x80000002)
group() {
  local name=$1; shift
  printf 'dn: CN=%s,CN=Users,%s\nchangetype: add\nobjectClass: group\nsAMAccountName: %s\n' "$name" "$B" "$name"
  printf 'groupType: -2147483646\n'
  printf 'member: %s\n' "$@"
  echo
}

P=OU=People,$B
ALICE="CN=Alice Anders,$P"
BOB="CN=Bob Smith,$P"
CAROL="CN=carol,$P"
JUERGEN="CN=Jürgen Groß,$P"
GINA="CN=gina.locked,$P"
HENRY="CN=henry.svc,$P"
IVAN="CN=ivan.denied,$P"
KATE="CN=kate.other,OU=Other,$B"

ldif() {
  # Policy first: with complexity on, Passw0rd-alice! would be refused (it
  # contains the account name).
  cat <<EOF
dn: $B
changetype: modify
replace: lockoutThreshold
lockoutThreshold: 3
-
replace: lockoutDuration
lockoutDuration: $MIN
-
replace: lockOutObservationWindow
lockOutObservationWindow: $MIN
-
replace: minPwdAge
minPwdAge: 0
-
replace: maxPwdAge
maxPwdAge: -9223372036854775808
-
replace: pwdProperties
pwdProperties: 0
-
replace: pwdHistoryLength
pwdHistoryLength: 0
-

dn: $P
changetype: add
objectClass: organizationalUnit

dn: OU=Other,$B
changetype: add
objectClass: organizationalUnit

dn: OU=Staff,$B
changetype: add
objectClass: organizationalUnit

EOF
  user "CN=svc-mfa,CN=Users,$B" svc-mfa svc-mfa@test.local 'Svc-Password-123!' 66048 \
    'description: mfagate lookup account (read-only: Domain Users may search)'
  user "$ALICE" alice alice@test.local 'Passw0rd-alice!' 512 \
    'givenName: Alice' 'sn: Anders' 'displayName: Alice Anders' \
    'mail: alice@test.local' 'mobile: +15550001001'
  # UPN differs from the sAMAccountName
  user "$BOB" bob.smith robert@test.local 'Passw0rd-bob.smith!' 512 \
    'givenName: Bob' 'sn: Smith' 'displayName: Bob Smith' \
    'mail: bob.smith@test.local' 'telephoneNumber: +15550001002'
  user "$CAROL" carol carol@test.local 'Passw0rd-carol!' 512 \
    'mail: carol@test.local' 'otherTelephone: +15550001003'
  # non-ASCII sAMAccountName, UPN and DN
  user "$JUERGEN" jürgen jürgen@test.local 'Passw0rd-jürgen!' 512 \
    'givenName: Jürgen' 'sn: Groß' 'displayName: Jürgen Groß' \
    'mail: jürgen@test.local' 'mobile: +15550001004'
  # bind: data 533 (account disabled)
  user "CN=dave.disabled,$P" dave.disabled dave.disabled@test.local 'Passw0rd-dave.disabled!' 514 \
    'mail: dave.disabled@test.local'
  # bind: data 701 (account expired; 2020-01-01T00:00:00Z as FILETIME)
  user "CN=erin.expired,$P" erin.expired erin.expired@test.local 'Passw0rd-erin.expired!' 512 \
    'mail: erin.expired@test.local' 'accountExpires: 132223104000000000'
  # bind: data 773 (must change password at next logon)
  user "CN=frank.mustchange,$P" frank.mustchange frank.mustchange@test.local 'Passw0rd-frank.mustchange!' 512 \
    'mail: frank.mustchange@test.local' 'pwdLastSet: 0'
  # bind: data 775 (locked out) once samba-ad-lock.sh has run, below
  user "$GINA" gina.locked gina.locked@test.local 'Passw0rd-gina.locked!' 512 \
    'mail: gina.locked@test.local'
  user "$HENRY" henry.svc henry.svc@test.local 'Passw0rd-henry.svc!' 512 'mail: henry.svc@test.local'
  user "$IVAN" ivan.denied ivan.denied@test.local 'Passw0rd-ivan.denied!' 512 'mail: ivan.denied@test.local'
  user "$KATE" kate.other kate.other@test.local 'Passw0rd-kate.other!' 512 'mail: kate.other@test.local'

  # LDAP front-end tests (tests/it/ldap.rs): an application's service account
  # (exempt through the ldap-apps group) and users no other test binds as, in
  # their own OU so that the People OU's import counts stay as they are.
  user "CN=svc-wiki,CN=Users,$B" svc-wiki svc-wiki@test.local 'Svc-Wiki-Password-456,!' 66048 \
    'description: an LDAP application service account (password has the delimiter)'
  user "CN=Lara Lind,OU=Staff,$B" lara.ldap lara.ldap@test.local 'Passw0rd-lara.ldap!' 512 \
    'displayName: Lara Lind' 'mail: lara.ldap@test.local'
  user "CN=leo.ldap,OU=Staff,$B" leo.ldap leo.ldap@test.local 'Passw0rd-leo.ldap!' 512 'mail: leo.ldap@test.local'
  user "CN=lily.ldap,OU=Staff,$B" lily.ldap lily.ldap@test.local 'Passw0rd-lily.ldap!' 512 'mail: lily.ldap@test.local'
  group ldap-apps "CN=svc-wiki,CN=Users,$B"

  # carol and kate.other are in mfa-users only through mfa-nested
  group mfa-nested "$CAROL" "$KATE"
  group mfa-users "$ALICE" "CN=mfa-nested,CN=Users,$B"
  group vpn-bypass "$HENRY"
  group vpn-deny "$IVAN"

  # gina's own lockout policy: locked for 99999 minutes (~69 days) instead of
  # the domain's 1 minute, so she stays locked for a whole test run while the
  # other users' lockouts (tests may cause some) end after a minute.
  cat <<EOF
dn: CN=gina-stays-locked,CN=Password Settings Container,CN=System,$B
changetype: add
objectClass: msDS-PasswordSettings
msDS-PasswordSettingsPrecedence: 1
msDS-PasswordReversibleEncryptionEnabled: FALSE
msDS-PasswordHistoryLength: 0
msDS-PasswordComplexityEnabled: FALSE
msDS-MinimumPasswordLength: 7
msDS-MinimumPasswordAge: 0
msDS-MaximumPasswordAge: -9223372036854775808
msDS-LockoutThreshold: 3
msDS-LockoutObservationWindow: $MIN
msDS-LockoutDuration: -59999400000000
msDS-PSOAppliesTo: $GINA

EOF
}

ldif >"$D/seed.ldif"
chmod 600 "$D/seed.ldif"  # holds the (test) passwords
if ! out=$(ldapmodify -x -H "$AD_LDAPS_URL" -o nettimeout=10 -D "$AD_ADMIN_DN" -w "$AD_ADMIN_PASSWORD" \
             -f "$D/seed.ldif" 2>&1); then
  echo "$0: ldapmodify failed:" >&2; echo "$out" | tail -15 >&2; exit 1
fi

"$HERE/samba-ad-lock.sh" "$D" gina.locked >/dev/null
echo "seeded $D (users, groups, policy; gina.locked locked)"
