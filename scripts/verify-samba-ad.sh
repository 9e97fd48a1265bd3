#!/usr/bin/env bash
# Checks the seeded DC of scripts/start-samba-ad.sh DIR with real LDAP binds
# and searches (ldap-utils), i.e. what the AD integration tests rely on: TLS
# (LDAPS, StartTLS, cert valid for 127.0.0.1 and localhost), plain binds, the
# three name forms, the AD sub-codes 52e/533/701/773/775, the seeded
# attributes and (nested) group memberships. Exits 1 on any mismatch.
# usage: verify-samba-ad.sh DIR
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then echo "usage: $0 DIR" >&2; exit 2; fi
D=$1
# shellcheck source=/dev/null
. "$D/env"
export LDAPTLS_CACERT=$AD_CA_PEM
B=$AD_BASE_DN

pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }

# bind URL WHO PASSWORD EXPECT [ldapsearch args...]
#   EXPECT: 0 (bind works) or an AD sub-code (52e, 533, ...) that must appear
#   as "data <code>," in the diagnostic message of the failed bind.
bind() {
  local url=$1 who=$2 pw=$3 want=$4 out; shift 4
  out=$(ldapsearch -x -H "$url" "$@" -o nettimeout=5 -D "$who" -w "$pw" -b '' -s base dnsHostName 2>&1) || true
  if [ "$want" = 0 ]; then
    if grep -q '^result: 0 Success' <<<"$out"; then ok "bind $url ${*:+$* }$who"
    else bad "bind $url ${*:+$* }$who: $(tr '\n' ' ' <<<"$out")"; fi
  else
    if grep -q "data $want," <<<"$out"; then ok "bind $who -> data $want"
    else bad "bind $who: expected data $want, got: $(tr '\n' ' ' <<<"$out")"; fi
  fi
}
# search FILTER ATTR... as the service account, whole base, LDIF unwrapped.
# (A subtree search from the domain root also returns continuation references
# to CN=Configuration etc., printed as "# refldaps://..."; dropped here.)
search() {
  ldapsearch -LLL -x -H "$AD_LDAPS_URL" -o nettimeout=5 -o ldif-wrap=no \
    -D "$AD_BIND_DN" -w "$AD_BIND_PASSWORD" -b "${SEARCH_BASE:-$B}" "$@" 2>&1 | grep -v '^# ref' || true
}
# expect LABEL WANTED_LINES ACTUAL: sorted line sets must be equal
expect() {
  local got; got=$(sort <<<"$3" | grep -v '^$' || true)
  if [ "$got" = "$(sort <<<"$2")" ]; then ok "$1"
  else bad "$1: expected [$(tr '\n' ' ' <<<"$2")] got [$(tr '\n' ' ' <<<"$got")]"; fi
}
sams() { search "$@" sAMAccountName | sed -n 's/^sAMAccountName: //p'; }

S=$AD_LDAPS_URL
# --- transport and the service account ---
bind "$S" "$AD_BIND_DN" "$AD_BIND_PASSWORD" 0
bind "$AD_LDAP_URL" "$AD_BIND_DN" "$AD_BIND_PASSWORD" 0 -ZZ   # StartTLS
bind "$AD_LDAP_URL" "$AD_BIND_DN" "$AD_BIND_PASSWORD" 0       # plain: strong auth = no
# libldap checks "localhost" against the machine's FQDN, not the name, so
# openssl checks the cert for localhost (and 127.0.0.1) on a real handshake.
for host in localhost 127.0.0.1; do
  case $host in localhost) vopt=(-verify_hostname localhost) ;; *) vopt=(-verify_ip 127.0.0.1) ;; esac
  if out=$(openssl s_client -connect 127.0.0.1:636 -servername localhost -CAfile "$AD_CA_PEM" \
             "${vopt[@]}" -verify_return_error </dev/null 2>&1) \
     && grep -q 'Verify return code: 0 (ok)' <<<"$out"; then ok "TLS cert verifies for $host"
  else bad "TLS cert for $host: $(grep -i verify <<<"$out" | tr '\n' ' ')"; fi
done

# --- name forms and sub-codes (the wrong password first: a good bind resets
# alice's bad-password count) ---
bind "$S" alice@test.local 'wrong-password' 52e
bind "$S" nobody@test.local 'wrong-password' 52e
bind "$S" alice@test.local 'Passw0rd-alice!' 0
bind "$S" "$AD_NETBIOS\\alice" 'Passw0rd-alice!' 0
bind "$S" "CN=Alice Anders,OU=People,$B" 'Passw0rd-alice!' 0
bind "$S" robert@test.local 'Passw0rd-bob.smith!' 0
bind "$S" "$AD_NETBIOS\\bob.smith" 'Passw0rd-bob.smith!' 0
bind "$S" 'jürgen@test.local' 'Passw0rd-jürgen!' 0
bind "$S" "$AD_NETBIOS\\jürgen" 'Passw0rd-jürgen!' 0
bind "$S" "$AD_NETBIOS\\dave.disabled" 'Passw0rd-dave.disabled!' 533
bind "$S" "$AD_NETBIOS\\erin.expired" 'Passw0rd-erin.expired!' 701
bind "$S" "$AD_NETBIOS\\frank.mustchange" 'Passw0rd-frank.mustchange!' 773
bind "$S" "$AD_NETBIOS\\gina.locked" 'Passw0rd-gina.locked!' 775
for u in carol henry.svc ivan.denied kate.other; do
  bind "$S" "$u@test.local" "Passw0rd-$u!" 0
done

# --- attributes (as the service account) ---
expect "alice: UPN, mail, mobile, names" \
"userPrincipalName: alice@test.local
mail: alice@test.local
mobile: +15550001001
givenName: Alice
sn: Anders
displayName: Alice Anders" \
  "$(search '(sAMAccountName=alice)' userPrincipalName mail mobile givenName sn displayName | grep -v '^dn:')"
expect "bob.smith: found by UPN robert@test.local, telephoneNumber only" \
"sAMAccountName: bob.smith
telephoneNumber: +15550001002" \
  "$(search '(userPrincipalName=robert@test.local)' sAMAccountName telephoneNumber mobile otherTelephone | grep -v '^dn:')"
expect "carol: otherTelephone only" "otherTelephone: +15550001003" \
  "$(search '(sAMAccountName=carol)' telephoneNumber mobile otherTelephone | grep -v '^dn:')"
# non-ASCII values come back base64 (attr:: ...): decode them
expect "jürgen: found by sAMAccountName, DN, displayName, mobile" \
"dn: CN=Jürgen Groß,OU=People,$B
displayName: Jürgen Groß
mobile: +15550001004" \
  "$(search '(sAMAccountName=jürgen)' displayName mobile | while IFS= read -r l; do
       case $l in *::\ *) printf '%s: %s\n' "${l%%::*}" "$(base64 -d <<<"${l#*:: }")" ;; *) echo "$l" ;; esac
     done)"

# --- scope and groups ---
expect "kate.other is outside OU=People" "" "$(SEARCH_BASE=$AD_PEOPLE_OU sams '(sAMAccountName=kate.other)')"
expect "alice's direct memberOf" "memberOf: $AD_GROUP_MFA_USERS" \
  "$(search '(sAMAccountName=alice)' memberOf | grep '^memberOf:')"
expect "carol's direct memberOf (not mfa-users)" "memberOf: $AD_GROUP_MFA_NESTED" \
  "$(search '(sAMAccountName=carol)' memberOf | grep '^memberOf:')"
expect "members of mfa-users, nested (LDAP_MATCHING_RULE_IN_CHAIN)" \
"alice
carol
kate.other" \
  "$(sams "(&(objectCategory=person)(memberOf:1.2.840.113556.1.4.1941:=$AD_GROUP_MFA_USERS))")"
expect "direct members of mfa-users" "alice" \
  "$(sams "(&(objectCategory=person)(memberOf=$AD_GROUP_MFA_USERS))")"
expect "groups of kate.other, nested" \
"mfa-nested
mfa-users" \
  "$(sams "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=CN=kate.other,$AD_OTHER_OU))")"
expect "vpn-bypass members" "henry.svc" "$(sams "(memberOf=$AD_GROUP_VPN_BYPASS)")"
expect "vpn-deny members" "ivan.denied" "$(sams "(memberOf=$AD_GROUP_VPN_DENY)")"

# Not "N passed, N failed": that line would read as the test run's result.
if [ "$fail" -eq 0 ]; then echo "samba AD verify: all $pass checks ok"
else echo "samba AD verify: $fail of $((pass + fail)) checks FAILED"; exit 1; fi
